"""A postgres pool whose server connections were killed reconnects on the next use."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from mega.plugins.db import ConnectionLost
from mega.plugins.postgres import PostgresDatabase, PostgresOptions
from mega.testing.services import require


@pytest.fixture
async def db():
    require("postgres")
    name = f"mega-fault-{uuid.uuid4().hex[:8]}"
    database = PostgresDatabase(
        alias="faulty", options=PostgresOptions(application_name=name, pool_min=1, pool_max=1)
    )
    await database.connect()
    yield database
    await database.close()


async def _kill_backends(application_name: str) -> int:
    admin = await asyncpg.connect("postgresql://127.0.0.1:5432/postgres")
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1",
                application_name,
            )
        )
    finally:
        await admin.close()


async def test_a_killed_connection_fails_once_as_retryable_then_reconnects(db):
    assert await db.fetch_val("SELECT 1") == 1
    assert await _kill_backends(db.options.application_name) == 1
    failures = []
    for _ in range(2):
        try:
            assert await db.fetch_val("SELECT 2") == 2
        except ConnectionLost as exc:
            failures.append(exc)
    assert len(failures) <= 1
    for exc in failures:
        assert exc.code == "db.connection_lost" and exc.retryable
        assert exc.details["alias"] == "faulty"
    assert await db.fetch_val("SELECT 3") == 3


async def test_a_transaction_whose_connection_dies_raises_and_the_pool_recovers(db):
    with pytest.raises(ConnectionLost):
        async with db.transaction():
            await db.fetch_val("SELECT 1")
            await _kill_backends(db.options.application_name)
            await db.fetch_val("SELECT 2")
    assert await db.fetch_val("SELECT 4") == 4
