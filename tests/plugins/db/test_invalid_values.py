"""A value its column cannot hold is bad input (``db.invalid_value``, 422), never a 500: an
integer past its column's range, a NUL character in text on PostgreSQL. A key no column can
hold finds no row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from mega.plugins.db import BigInt, CreateTable, Database, Int, InvalidValue, Model, String, Text
from mega.testing.services import require


class Gadget(Model):
    __table__ = "gadgets"
    name = String(40)
    note = Text(nullable=True)
    small = Int(nullable=True)
    big = BigInt(nullable=True)


class Tiny(Model):
    __table__ = "tinies"
    id = Int(primary_key=True)
    name = String(40)


@pytest.fixture(params=["sqlite", "postgres", "maria"])
async def db(request, tmp_path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        from mega.plugins.sqlite import SqliteDatabase, SqliteOptions

        database: Database = SqliteDatabase(
            alias="kit", options=SqliteOptions(path=str(tmp_path / "kit.sqlite3"))
        )
        cleanup = None
    elif request.param == "postgres":
        require("postgres")
        from mega.plugins.postgres import PostgresDatabase, PostgresOptions

        schema = f"mega_kit_{uuid.uuid4().hex[:12]}"
        database = PostgresDatabase(
            alias="kit", options=PostgresOptions(schema_name=schema, pool_max=2)
        )
        cleanup = f'DROP SCHEMA "{schema}" CASCADE'
    else:
        require("maria")
        from mega.plugins.maria import MariaDatabase, MariaOptions

        name = f"mega_kit_{uuid.uuid4().hex[:12]}"
        admin = MariaDatabase(alias="admin", options=MariaOptions(pool_max=1))
        await admin.connect()
        await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        await admin.close()
        database = MariaDatabase(alias="kit", options=MariaOptions(database=name, pool_max=2))
        cleanup = f"DROP DATABASE `{name}`"
    await database.connect()
    try:
        await database.apply([CreateTable(Gadget.table_def()), CreateTable(Tiny.table_def())])
        yield database
    finally:
        if cleanup is not None:
            await database.execute(cleanup)
        await database.close()


@pytest.mark.parametrize(("column", "value"), [("big", 2**70), ("big", -(2**64)), ("small", 2**40)])
async def test_an_integer_its_column_cannot_hold_is_an_invalid_value(db, column, value):
    if db.dialect.name == "sqlite" and column == "small":
        pytest.skip("SQLite stores any 64-bit integer in any integer column")
    with pytest.raises(InvalidValue) as err:
        await db.insert(Gadget, {"name": "x", column: value})
    assert (err.value.code, err.value.http_status) == ("db.invalid_value", 422)
    assert "sql" not in err.value.details and "INSERT" not in err.value.message
    assert await db.count(Gadget) == 0


async def test_filtering_by_an_integer_past_64_bits_is_an_invalid_value_or_no_row(db):
    await db.insert(Gadget, {"name": "x", "big": 1})
    try:
        found = await db.find(Gadget, where={"big": 2**70})
    except InvalidValue as exc:
        assert exc.http_status == 422
    else:
        assert found == []


@pytest.mark.parametrize("key", [2**31, 2**63, 2**70, -(2**70)])
async def test_get_by_a_key_its_column_cannot_hold_finds_no_row(db, key):
    await db.insert(Tiny, {"name": "t"})
    assert await db.get(Tiny, key) is None


async def test_a_nul_character_in_text_is_an_invalid_value_where_the_server_refuses_it(db):
    try:
        await db.insert(Gadget, {"name": "nul\x00here", "note": "a\x00b"})
    except InvalidValue as exc:
        assert (exc.code, exc.http_status) == ("db.invalid_value", 422)
        assert db.dialect.name == "postgres"
    else:  # SQLite and MariaDB store it as given
        assert db.dialect.name != "postgres"
        assert (await db.find(Gadget))[0]["name"] == "nul\x00here"
