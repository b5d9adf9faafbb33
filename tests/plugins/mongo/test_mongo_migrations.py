"""Migrations on MongoDB: model edits -> make -> up build collections, validators and indexes;
documents survive every step; status, checksums, drift, the lock, and down to empty; and the
`mega migrate` CLI unchanged in a project whose default db is mongo."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mega.plugins.db.migrations import (
    MigrateError,
    Migrator,
    load_migrations,
    make_migration,
    scan_models,
)
from mega.plugins.db.migrations.drift import drift
from mega.plugins.mongo import MongoDatabase

HEADER = "from mega.plugins.db import BigInt, DateTime, Enum, Index, Int, Model, String\n\n"
USERS = """
class User(Model):
    __table__ = "users"
    email = String(120, unique=True)
    {name}
    role = Enum("admin", "member", default="member")
    {extra}
"""
NOTES = """
class Note(Model):
    __table__ = "notes"
    body = String(200)
    author_id = BigInt(nullable=True{fk})
    seen_at = DateTime(nullable=True)
"""

STEPS: list[tuple[str, str, bool]] = [
    ("create_users", USERS.format(name="name = String(60)", extra=""), False),
    (
        "add_age",
        USERS.format(name="name = String(60)", extra="age = Int(nullable=True)"),
        False,
    ),
    (
        "rename_name",
        USERS.format(
            name='full_name = String(60, renamed_from="name")', extra="age = Int(nullable=True)"
        ),
        False,
    ),
    (
        "compound_and_partial_indexes",
        USERS.format(
            name="full_name = String(200)",
            extra='age = Int(nullable=True)\n    __indexes__ = [Index("age", "full_name"), '
            'Index("full_name", unique=True, where=role == "admin")]',
        ),
        False,
    ),
    (
        "notes_with_a_reference",
        USERS.format(name="full_name = String(200)", extra="age = Int(nullable=True)")
        + NOTES.format(fk=', references="users.id", on_delete="cascade"'),
        False,
    ),
    (
        "drop_age",
        USERS.format(name="full_name = String(200)", extra="")
        + NOTES.format(fk=', references="users.id", on_delete="cascade"'),
        True,
    ),
]


def forget() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


@pytest.fixture
def models_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    root = tmp_path / "proj"
    (root / "apps" / "main" / "models").mkdir(parents=True)
    (root / "apps" / "__init__.py").write_text("")
    (root / "apps" / "main" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))
    forget()
    yield root
    forget()


def write_models(root: Path, source: str) -> None:
    forget()
    (root / "apps" / "main" / "models" / "models.py").write_text(HEADER + textwrap.dedent(source))


def live(schema: dict[str, Any]) -> dict[str, list[str]]:
    return {n: sorted(i.column_names) for n, i in schema.items() if n != "mega_migrations"}


async def test_model_edits_migrate_up_keep_documents_and_down_to_empty(
    models_project: Path, mongo_db: MongoDatabase
) -> None:
    db = mongo_db
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for number, (name, source, allow_drop) in enumerate(STEPS):
        write_models(models_project, source)
        made = make_migration(
            models_project, name, allow_drop=allow_drop, now=clock + dt.timedelta(minutes=number)
        )
        assert made.path is not None, name
        assert await Migrator(db, load_migrations(models_project)).up() == [made.path.stem]
        if name == "create_users":
            users = db.collection("users")
            await users.insert_one(
                {"_id": 1, "email": "ada@example.com", "name": "Ada", "role": "member"}
            )
            await users.insert_one(
                {"_id": 2, "email": "bo@example.com", "name": "Bo", "role": "member"}
            )
        schema = await db.introspect()
        expected = {
            t: sorted(c.name for c in table.columns)
            for t, table in scan_models(models_project).tables.items()
        }
        assert live(schema) == expected, name
        assert drift(models_project, "default", schema, db.dialect) == [], name
        assert (await db.collection("users").find_one({"_id": 1}) or {})["email"] == (
            "ada@example.com"
        )
        if name == "create_users":  # the validator came from the model
            with pytest.raises(Exception, match="validation"):
                await db.collection("users").insert_one(
                    {"_id": 3, "email": 7, "name": "x", "role": "member"}
                )
        if name == "add_age":  # the added field's rule: an int or nothing
            await db.collection("users").update_one({"_id": 2}, {"$set": {"age": 30}})
        if name == "compound_and_partial_indexes":
            indexes = {ix.name: ix for ix in schema["users"].indexes}
            assert indexes["ix_users_age_full_name"].columns == ("age", "full_name")
            assert indexes["uq_users_email"].unique
            await db.collection("users").update_one({"_id": 1}, {"$set": {"role": "admin"}})
            await db.collection("users").insert_one(
                {"_id": 9, "email": "c@x", "full_name": "Ada", "role": "member"}
            )  # the partial unique index only covers admins
            with pytest.raises(Exception, match="duplicate key"):
                await db.collection("users").insert_one(
                    {"_id": 10, "email": "d@x", "full_name": "Ada", "role": "admin"}
                )
    ada = await db.collection("users").find_one({"_id": 1})
    assert ada is not None and ada["full_name"] == "Ada" and "name" not in ada  # renamed
    assert "age" not in (await db.collection("users").find_one({"_id": 2}) or {})  # dropped
    assert make_migration(models_project, "noop").path is None
    statuses = await Migrator(db, load_migrations(models_project)).status()
    assert [s.state for s in statuses] == ["applied"] * len(STEPS)
    # drift: an index dropped behind the journal's back, a stray collection
    await db.collection("users").drop_index("uq_users_email")
    await db._database().create_collection("stray")
    problems = drift(models_project, "default", await db.introspect(), db.dialect)
    assert problems == [
        "table stray is in the database but in no migration",
        "index uq_users_email on users is missing from the database",
    ]
    await db._database().drop_collection("stray")
    # a validator edited behind the journal's back: its rule for full_name says int
    from mega.plugins.mongo.schema import _schema, _set_schema

    schema = await _schema(db, "users")
    await _set_schema(db, "users", _retyped(schema, "full_name", ["int"]))
    assert "column users.full_name is int in the database, string in the migrations" in drift(
        models_project, "default", await db.introspect(), db.dialect
    )
    await _set_schema(db, "users", schema)
    await db.collection("users").create_index([("email", 1)], name="uq_users_email", unique=True)
    undone = await Migrator(db, load_migrations(models_project)).down(steps=len(STEPS))
    assert len(undone) == len(STEPS)
    assert live(await db.introspect()) == {}


async def test_an_edited_applied_migration_is_refused(
    models_project: Path, mongo_db: MongoDatabase
) -> None:
    write_models(models_project, STEPS[0][1])
    made = make_migration(models_project, "start")
    assert made.path is not None
    await Migrator(mongo_db, load_migrations(models_project)).up()
    record = await mongo_db.collection("mega_migrations").find_one({"_id": made.path.stem})
    assert record is not None and len(record["checksum"]) == 64 and record["ops_done"] == 1
    made.path.write_text(made.path.read_text() + "\n# edited\n")
    with pytest.raises(MigrateError) as err:
        await Migrator(mongo_db, load_migrations(models_project)).up()
    assert err.value.code == "migrate.checksum_mismatch"


async def test_a_failing_op_is_recorded_and_resumed(
    models_project: Path, mongo_db: MongoDatabase
) -> None:
    write_models(models_project, STEPS[0][1])
    make_migration(models_project, "start")
    migrations = models_project / "apps" / "main" / "migrations"
    # a hand-written migration: a TTL index (a JSON command), then an index on a missing
    # collection name that fails until the collection exists
    (migrations / "29990101000000-ttl.py").write_text(
        "from mega.plugins.db.migrations import Migration, op\n\n"
        "migration = Migration(\n"
        "    up=[\n"
        '        op.sql(\'{"createIndexes": "users", "indexes": [{"key": {"seen": 1}, '
        '"name": "ttl_users_seen", "expireAfterSeconds": 60}]}\', dialects=["mongo"]),\n'
        '        op.sql("UPDATE users SET x = 1", dialects=["postgres"]),\n'
        '        op.sql(\'{"collMod": "nothing_here"}\', dialects=["mongo"]),\n'
        "    ],\n"
        "    down=[],\n"
        ")\n"
    )
    with pytest.raises(MigrateError) as err:
        await Migrator(mongo_db, load_migrations(models_project)).up()
    assert err.value.code == "migrate.failed" and err.value.details["op"] == 3
    states = {s.name: s for s in await Migrator(mongo_db, load_migrations(models_project)).status()}
    assert states["29990101000000-ttl"].state == "partial"
    assert states["29990101000000-ttl"].ops_done == 2
    indexes = [ix async for ix in await mongo_db.collection("users").list_indexes()]
    ttl = next(ix for ix in indexes if ix["name"] == "ttl_users_seen")
    assert ttl["expireAfterSeconds"] == 60


async def test_two_runners_at_once_apply_each_migration_once(
    models_project: Path, mongo_db: MongoDatabase, mongo_options: Any
) -> None:
    write_models(models_project, STEPS[0][1])
    make_migration(models_project, "start")
    other = MongoDatabase(alias="other", options=mongo_options)
    await other.connect()
    try:
        results = await asyncio.gather(
            Migrator(mongo_db, load_migrations(models_project)).up(),
            Migrator(other, load_migrations(models_project)).up(),
        )
    finally:
        await other.close()
    assert sorted(len(r) for r in results) == [0, 1]
    assert await mongo_db.collection("mega_migrations").count_documents({}) == 1


async def test_a_ttl_index_is_an_op_other_dialects_skip(mongo_db: MongoDatabase) -> None:
    from mega.plugins.db import CreateTable, DateTime, DropIndex, Model
    from mega.plugins.mongo import ttl_index

    write = ttl_index("sessions", "seen_at", seconds=3_600)
    assert write.dialects == ("mongo",)

    class Session(Model):
        __table__ = "sessions"
        seen_at = DateTime()

    await mongo_db.apply([CreateTable(Session.table_def()), write])
    indexes = {ix["name"]: ix async for ix in await mongo_db.collection("sessions").list_indexes()}
    assert indexes["ttl_sessions_seen_at"]["expireAfterSeconds"] == 3_600
    assert '"expireAfterSeconds": 3600' in mongo_db.dialect.ddl(write)[0]
    await mongo_db.apply([DropIndex("sessions", "ttl_sessions_seen_at")])
    with pytest.raises(ValueError):
        ttl_index("sessions", "seen_at", seconds=-1)


def _retyped(schema: dict[str, Any], field: str, types: list[str]) -> dict[str, Any]:
    properties = {**schema["properties"], field: {**schema["properties"][field], "bsonType": types}}
    return {**schema, "properties": properties}
