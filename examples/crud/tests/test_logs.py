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
    # a second fire for the same moment is refused by the lock (exactly once per fire time);
    # the work itself is idempotent too, for a fire caught up after a restart
    assert (await fire_schedule(app, KeepLogPartitions)).name == "skip"
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
