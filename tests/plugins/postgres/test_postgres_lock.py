"""The postgres lock driver passes the lock conformance kit against the real server."""

from __future__ import annotations

import uuid

import pytest

from mega import MegaConfigError
from mega.plugins.postgres import PostgresLock, PostgresLockOptions
from mega.testing.lock_suite import *  # noqa: F403
from mega.testing.lock_suite import connected_locks
from mega.testing.services import require


@pytest.fixture
async def lock_factory():
    require("postgres")
    options = PostgresLockOptions(table=f"mega_test_locks_{uuid.uuid4().hex[:12]}")
    async with connected_locks(lambda: PostgresLock(alias="t", options=options)) as make:
        yield make
        cleaner = await make()
        async with cleaner._pool.acquire() as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {options.table}, {options.table}_fences")


def test_the_table_name_must_be_a_plain_identifier():
    with pytest.raises(ValueError, match="lower-case SQL identifier"):
        PostgresLockOptions(table="locks; DROP TABLE users")
    from mega import App

    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {
                "app": {"plugins": ["postgres"]},
                "adapters": {"lock": {"default": {"driver": "postgres", "table": "Bad-Name"}}},
            },
            environ={},
        )
    assert err.value.details["key"] == "adapters.lock.default.table"
