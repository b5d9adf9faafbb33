"""A maria pool whose server connections were killed reconnects on the next use."""

from __future__ import annotations

import pytest

from mega.plugins.db import ConnectionLost
from mega.plugins.maria import MariaDatabase, MariaOptions
from mega.testing.services import require


@pytest.fixture
async def pair():
    require("maria")
    db = MariaDatabase(alias="faulty", options=MariaOptions(pool_min=1, pool_max=1))
    admin = MariaDatabase(alias="admin", options=MariaOptions(pool_min=1, pool_max=1))
    await db.connect()
    await admin.connect()
    yield db, admin
    await db.close()
    await admin.close()


async def test_a_killed_connection_fails_once_as_retryable_then_reconnects(pair):
    db, admin = pair
    victim = await db.fetch_val("SELECT CONNECTION_ID()")
    await admin.execute(f"KILL {int(victim)}")
    failures = []
    for _ in range(2):
        try:
            assert await db.fetch_val("SELECT 2") == 2
        except ConnectionLost as exc:
            failures.append(exc)
    assert len(failures) <= 1
    assert all(exc.retryable and exc.code == "db.connection_lost" for exc in failures)
    assert await db.fetch_val("SELECT CONNECTION_ID()") != victim


async def test_a_transaction_whose_connection_dies_raises_and_the_pool_recovers(pair):
    db, admin = pair
    with pytest.raises(ConnectionLost):
        async with db.transaction():
            victim = await db.fetch_val("SELECT CONNECTION_ID()")
            await admin.execute(f"KILL {int(victim)}")
            await db.fetch_val("SELECT 2")
    assert await db.fetch_val("SELECT 4") == 4
