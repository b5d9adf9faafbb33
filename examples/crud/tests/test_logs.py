"""The month-partitioned audit log and the schedule that keeps partitions ahead."""

from __future__ import annotations

import datetime as dt

from apps.main.models.log import Log
from apps.main.schedules.keep_log_partitions import KeepLogPartitions

from mega.plugins.db import ensure_partitions, partition_name
from mega.testing import fire_schedule
from tests.conftest import DISTRIBUTED


async def test_the_schedule_creates_the_coming_months_once(app):
    db = app.ctx().db()
    first = await fire_schedule(app, KeepLogPartitions)
    assert first.name == "done"
    if not DISTRIBUTED:  # SQLite: a plain table, nothing to create
        assert first.result == {"created": []}
        assert db.dialect.capabilities.partitioning is False
        return
    now = dt.datetime.now(dt.UTC).replace(day=1)
    months = [now]
    for _ in range(2):
        months.append((months[-1] + dt.timedelta(days=32)).replace(day=1))
    expected = {partition_name("logs", m, "month") for m in months}
    live = set((await db.introspect())["logs"].partitions)
    assert expected <= live
    # fired again: within the same second the lock refuses it (exactly once per fire time);
    # a second later it is a new fire, which finds nothing left to create
    again = await fire_schedule(app, KeepLogPartitions)
    assert again.name == "skip" or again.result == {"created": []}
    assert await ensure_partitions(db, Log, ahead=2) == []


async def test_log_rows_land_in_this_months_partition_even_before_the_first_fire(app, member):
    db = app.ctx().db()
    rows = await db.find(Log, where={"user_id": member["id"]})
    assert [r["action"] for r in rows] == ["user.registered"]
    assert rows[0]["at"].tzinfo is not None
    if DISTRIBUTED:
        month = partition_name("logs", rows[0]["at"], "month")
        count = await db.fetch_val(f'SELECT count(*) FROM "{month}"')
        assert count == 1


async def test_the_schedule_is_found_and_fires_under_the_lock(app):
    assert app.extensions["schedule"].schedules["KeepLogPartitions"] is KeepLogPartitions
    fired = await fire_schedule(app, "KeepLogPartitions")
    assert fired.token is not None  # a fencing token: the fire held the lock


async def test_only_administrators_see_the_audit_log(app, client, member):
    from apps.main.services.auth_service import AuthService

    await AuthService(app.ctx()).register(
        email="boss@example.com", name="Boss", password="corner-office-9", type_code="admin"
    )
    for email, password, status in [
        (member["email"], member["password"], 403),
        ("boss@example.com", "corner-office-9", 200),
    ]:
        signed = await client.post(
            "/api/login",
            json={"email": email, "password": password},
            headers={"x-csrf-token": await _token(client)},
        )
        assert signed.status_code == 200, signed.text
        response = await client.get("/api/logs")
        assert response.status_code == status
    actions = [row["action"] for row in response.json()["data"]["logs"]]
    assert actions[0] == "auth.login" and "user.registered" in actions


async def _token(client) -> str:
    return (await client.get("/api/session")).json()["data"]["csrf_token"]
