"""The dialect contract: ``DatabaseDriver`` with public primitive names, the old names for one
release, and everything a dialect needs exported from ``mega.plugins.db``."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

import mega.plugins.db as db_api
from mega.plugins.db import (
    CreateTable,
    Database,
    DatabaseDriver,
    Model,
    String,
)
from mega.plugins.sqlite import SqliteDatabase, SqliteOptions

PRIMITIVES = ("acquire", "execute_on", "fetch_on", "fetch_named_on", "insert_on", "stream_on")


class Note(Model):
    __table__ = "notes"
    title = String(80)


def first_party_databases() -> list[Database]:
    from mega.plugins.maria import MariaDatabase, MariaOptions
    from mega.plugins.mongo import MongoDatabase, MongoOptions
    from mega.plugins.postgres import PostgresDatabase, PostgresOptions

    made: list[Database] = [
        SqliteDatabase(alias="a", options=SqliteOptions(path=":memory:")),
        PostgresDatabase(alias="a", options=PostgresOptions()),
        MariaDatabase(alias="a", options=MariaOptions()),
        MongoDatabase(alias="a", options=MongoOptions()),
    ]
    try:
        from mega_duckdb import DuckDatabase, DuckOptions
    except ImportError:  # contrib/mega-duckdb is not installed here
        return made
    return [*made, DuckDatabase(alias="a", options=DuckOptions())]


@pytest.mark.parametrize("db", first_party_databases(), ids=lambda db: type(db).__name__)
def test_every_dialect_implements_the_public_primitives(db):
    assert isinstance(db, DatabaseDriver)
    for name in PRIMITIVES:
        assert name in type(db).__dict__, name
    assert isinstance(db.dialect, db_api.Dialect)  # an instance; the registry takes the class


def test_the_protocol_documents_every_member():
    members = [
        name
        for name in vars(DatabaseDriver)
        if not name.startswith("_") and callable(getattr(DatabaseDriver, name, None))
    ]
    assert set(PRIMITIVES) <= set(members)
    for name in [*members, "dialect"]:
        assert (getattr(DatabaseDriver, name).__doc__ or "").strip(), name


def test_a_dialect_needs_nothing_outside_the_public_api():
    for name in (
        "DatabaseDriver",
        "ConnectionPool",
        "ColumnInfo",
        "IndexInfo",
        "ForeignKeyInfo",
        "TableInfo",
        "Converter",
        "to_utc",
        "json_dumps",
        "enum_value",
        "close_connection",
    ):
        assert name in db_api.__all__, name
    for name in ("ColumnInfo", "IndexInfo", "ForeignKeyInfo", "TableInfo", "ConnectionPool"):
        doc = (getattr(db_api, name).__doc__ or "").strip()
        assert doc and not doc.startswith(f"{name}("), name  # not the dataclass's signature


def old_style_driver() -> type[Database]:
    """A third-party driver written against the underscore names, as before."""

    class OldStyle(Database):
        dialect = SqliteDatabase.dialect

        def __init__(self) -> None:
            super().__init__(alias="old")
            self.inner = SqliteDatabase(alias="inner", options=SqliteOptions(path=":memory:"))

        async def connect(self) -> None:
            await self.inner.connect()

        async def close(self) -> None:
            await self.inner.close()

        def _acquire(self) -> Any:
            return self.inner.acquire()

        async def _execute(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
            return await self.inner.execute_on(conn, sql, params)

        async def _fetch(self, conn: Any, sql: str, params: Sequence[Any]) -> Any:
            return await self.inner.fetch_on(conn, sql, params)

        async def _fetch_named(self, conn: Any, sql: str, params: Sequence[Any]) -> Any:
            return await self.inner.fetch_named_on(conn, sql, params)

        async def _insert(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> Any:
            return await self.inner.insert_on(conn, sql, params, rows)

        async def _stream(
            self, conn: Any, sql: str, params: Sequence[Any], batch: int
        ) -> AsyncIterator[Any]:
            async for item in self.inner.stream_on(conn, sql, params, batch):
                yield item

        def map_error(self, exc: BaseException) -> Any:
            return self.inner.map_error(exc)

        async def introspect(self) -> Any:
            return await self.inner.introspect()

        def migration_lock(self, name: str = "mega-migrations", *, timeout_s: float = 30.0) -> Any:
            return self.inner.migration_lock(name, timeout_s=timeout_s)

    return OldStyle


async def test_a_driver_with_the_old_names_works_and_is_warned_once_per_name():
    with pytest.warns(DeprecationWarning) as caught:
        OldStyle = old_style_driver()
    messages = [str(w.message) for w in caught]
    assert len(messages) == len(PRIMITIVES)
    renamed = "._execute is the old name of the dialect primitive execute_on()"
    assert any(renamed in m for m in messages)
    assert all(w.filename == __file__ for w in caught)  # points at the class statement
    assert not inspect.isabstract(OldStyle)
    db = OldStyle()
    await db.connect()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # running it warns no more
            await db.apply([CreateTable(Note.table_def())])
            key = await db.insert(Note, {"title": "old"})
            assert (await db.get(Note, key))["title"] == "old"
            assert [r["title"] async for r in db.stream(Note, batch=1)] == ["old"]
            async with db.transaction():
                await db.insert(Note, {"title": "tx"})
            assert await db.count(Note) == 2
    finally:
        await db.close()


async def test_calling_an_old_name_on_a_new_driver_warns_and_forwards():
    db = SqliteDatabase(alias="a", options=SqliteOptions(path=":memory:"))
    await db.connect()
    try:
        with pytest.warns(DeprecationWarning, match=r"Database\._fetch is the old name"):
            fetch = db._fetch
        assert fetch == db.fetch_on
        async with db.acquire() as conn:
            assert list(await fetch(conn, "SELECT 1", ())) == [(1,)]
    finally:
        await db.close()


def test_a_driver_defining_both_names_keeps_both_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Both(SqliteDatabase):
            async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
                return await super().execute_on(conn, sql, params)

            async def _execute(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
                return 0  # its own helper, not the primitive

    assert Both.execute_on is not Both.__dict__["_execute"]


def test_the_dialect_guide_documents_every_member_and_flag():
    import dataclasses
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[3] / "docs" / "dialects.md").read_text()
    members = [n for n in vars(DatabaseDriver) if not n.startswith("_") and n != "alias"]
    flags = [f.name for f in dataclasses.fields(db_api.Capabilities) if f.name != "reasons"]
    for name in [*members, *flags, "ConnectionPool", "ColumnInfo", "IndexInfo", "TableInfo"]:
        assert f"`{name}" in guide, name
    for old in ("_acquire", "_execute", "_fetch", "_fetch_named", "_insert", "_stream"):
        assert f"`{old}(" in guide, old
    assert "mega.plugins.sqlite" in guide and "kit_timeout" in guide


def test_dialects_import_only_the_db_plugin_s_public_api():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    sources = [
        *(root / "plugins").glob("sqlite/*.py"),
        *(root / "plugins").glob("postgres/*.py"),
        *(root / "plugins").glob("maria/*.py"),
        *(root / "plugins").glob("mongo/*.py"),
        *(root / "contrib" / "mega-duckdb" / "mega_duckdb").glob("*.py"),
    ]
    private = re.compile(r"mega\.plugins\.db\.(?!testing\b|dialect_suite\b)\w+")
    found = {str(p.relative_to(root)): private.findall(p.read_text()) for p in sources}
    assert {path: names for path, names in found.items() if names} == {}
