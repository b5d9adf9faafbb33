"""The sqlite db driver passes the dialect conformance kit, on a file and in memory."""

from __future__ import annotations

import pytest

from mega.plugins.db.dialect_suite import *  # noqa: F403
from mega.plugins.db.testing import connected_databases
from mega.plugins.sqlite import SqliteDatabase, SqliteOptions


@pytest.fixture(params=["file", "memory"])
async def db_factory(request, tmp_path):
    if request.param == "memory":
        # one in-memory database shared by every client the test makes
        shared = SqliteDatabase(alias="kit", options=SqliteOptions(path=":memory:"))
        async with connected_databases(lambda: _Shared(shared)) as make:
            yield make
        await shared.close()
        return
    options = SqliteOptions(path=str(tmp_path / "kit.sqlite3"))
    async with connected_databases(lambda: SqliteDatabase(alias="kit", options=options)) as make:
        yield make


class _Shared:
    """Several handles on one in-memory database (":memory:" is private to a connection)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    def __getattr__(self, name):
        return getattr(self._db, name)

    async def connect(self) -> None:
        if self._db._pool is None:
            await self._db.connect()

    async def close(self) -> None:
        await self._db.close()
