"""Migrations end to end on sqlite, PostgreSQL and MariaDB: model edits → make → up → the live
schema matches the models, data survives every step → down all the way → an empty schema."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
import uuid

import pytest

from mega import MegaConfigError
from mega.plugins.db.migrations import MigrateError, Migrator, load_migrations, make_migration

HEADER = "from mega.plugins.db import BigInt, DateTime, Index, Int, Model, PartitionBy, String\n\n"

STEPS = [
    # (name, models source, allow_drop)
    (
        "create_users",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            name = String(60)
        """,
        False,
    ),
    (
        "add_age",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            name = String(60)
            age = Int(nullable=True)
        """,
        False,
    ),
    (
        "rename_name",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            full_name = String(60, renamed_from="name")
            age = Int(nullable=True)
        """,
        False,
    ),
    (
        "widen_name",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            full_name = String(200, renamed_from="name")
            age = Int(nullable=True)
        """,
        False,
    ),
    (
        "index_age",
        """
        class User(Model):
            __table__ = "users"
            __indexes__ = [Index("age", "full_name")]
            email = String(120, unique=True)
            full_name = String(200)
            age = Int(nullable=True)
        """,
        False,
    ),
    (
        "notes_with_fk",
        """
        class User(Model):
            __table__ = "users"
            __indexes__ = [Index("age", "full_name")]
            email = String(120, unique=True)
            full_name = String(200)
            age = Int(nullable=True)

        class Note(Model):
            __table__ = "notes"
            body = String(200)
            author_id = BigInt(nullable=True)
        """,
        False,
    ),
    (
        "note_author_fk",
        """
        class User(Model):
            __table__ = "users"
            __indexes__ = [Index("age", "full_name")]
            email = String(120, unique=True)
            full_name = String(200)
            age = Int(nullable=True)

        class Note(Model):
            __table__ = "notes"
            body = String(200)
            author_id = BigInt(nullable=True, references="users.id", on_delete="cascade")
        """,
        False,
    ),
    (
        "drop_age",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            full_name = String(200)

        class Note(Model):
            __table__ = "notes"
            body = String(200)
            author_id = BigInt(nullable=True, references="users.id", on_delete="cascade")
        """,
        True,
    ),
    (
        "logs_partitioned",
        """
        class User(Model):
            __table__ = "users"
            email = String(120, unique=True)
            full_name = String(200)

        class Note(Model):
            __table__ = "notes"
            body = String(200)
            author_id = BigInt(nullable=True, references="users.id", on_delete="cascade")

        class Log(Model):
            __table__ = "logs"
            __partition__ = PartitionBy("at")
            id = BigInt(primary_key=True)
            at = DateTime(primary_key=False)
            line = String(200)
        """,
        False,
    ),
]


@pytest.fixture(params=["sqlite", "postgres", "maria"])
async def database(request, tmp_path):
    from mega.testing.services import require

    kind = request.param
    if kind == "sqlite":
        from mega.plugins.sqlite import SqliteDatabase, SqliteOptions

        db = SqliteDatabase(alias="m", options=SqliteOptions(path=str(tmp_path / "m.sqlite3")))
        await db.connect()
        yield db
        await db.close()
    elif kind == "postgres":
        require("postgres")
        from mega.plugins.postgres import PostgresDatabase, PostgresOptions

        schema = f"mega_mig_{uuid.uuid4().hex[:10]}"
        db = PostgresDatabase(alias="m", options=PostgresOptions(schema_name=schema))
        await db.connect()
        yield db
        await db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await db.close()
    else:
        require("maria")
        from mega.plugins.maria import MariaDatabase, MariaOptions

        name = f"mega_mig_{uuid.uuid4().hex[:10]}"
        admin = MariaDatabase(alias="admin", options=MariaOptions(pool_max=1))
        await admin.connect()
        await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        db = MariaDatabase(alias="m", options=MariaOptions(database=name))
        await db.connect()
        yield db
        await db.close()
        await admin.execute(f"DROP DATABASE `{name}`")
        await admin.close()


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "apps" / "main" / "models").mkdir(parents=True)
    (root / "apps" / "__init__.py").write_text("")
    (root / "apps" / "main" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))
    forget()
    yield root
    forget()


def forget():
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


def write_models(root, source):
    forget()
    (root / "apps" / "main" / "models" / "models.py").write_text(HEADER + textwrap.dedent(source))


def live(schema):
    """table -> sorted column names, without the runner's own table."""
    return {
        name: sorted(info.column_names)
        for name, info in schema.items()
        if name != "mega_migrations" and not name.startswith("logs_")
    }


async def test_model_edits_migrate_up_keep_data_and_migrate_down_to_empty(project, database):
    db = database
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for number, (name, source, allow_drop) in enumerate(STEPS):
        write_models(project, source)
        made = make_migration(
            project, name, allow_drop=allow_drop, now=clock + dt.timedelta(minutes=number)
        )
        assert made.path is not None, name
        applied = await Migrator(db, load_migrations(project)).up()
        assert applied == [made.path.stem]
        if name == "create_users":
            await db.execute("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')")
        if name == "notes_with_fk":
            await db.execute("INSERT INTO notes (body, author_id) VALUES ('hi', 1)")
        schema = await db.introspect()
        from mega.plugins.db.migrations import scan_models

        expected = {t: sorted(c.name for c in tbl.columns)
                    for t, tbl in scan_models(project).tables.items()}  # fmt: skip
        assert live(schema) == expected, name
        rows = await db.fetch_all("SELECT * FROM users")
        assert rows and rows[0]["email"] == "ada@example.com", name
    # the data followed the rename and the type change
    assert (await db.fetch_all("SELECT full_name FROM users"))[0]["full_name"] == "Ada"
    assert (await db.fetch_all("SELECT body, author_id FROM notes"))[0]["author_id"] == 1
    # nothing changed → nothing written
    assert make_migration(project, "noop").path is None
    statuses = await Migrator(db, load_migrations(project)).status()
    assert [s.state for s in statuses] == ["applied"] * len(STEPS)
    undone = await Migrator(db, load_migrations(project)).down(steps=len(STEPS))
    assert len(undone) == len(STEPS)
    assert live(await db.introspect()) == {}


async def test_destructive_and_ambiguous_changes_need_allow_drop(project, database):
    write_models(project, STEPS[1][1])
    make_migration(project, "start")
    write_models(project, STEPS[1][1].replace("age = Int(nullable=True)", ""))
    with pytest.raises(MegaConfigError) as caught:
        make_migration(project, "drop_age")
    assert caught.value.code == "migrate.destructive" and "drop column users.age" in str(
        caught.value
    )
    write_models(project, STEPS[1][1].replace("age = Int", "years = Int"))
    with pytest.raises(MegaConfigError) as caught:
        make_migration(project, "maybe_rename", confirm=lambda question: False)
    assert caught.value.code == "migrate.ambiguous_change"
    assert "renamed_from='age'" in str(caught.value)
    assert make_migration(project, "maybe_rename", confirm=lambda q: True).path is not None


async def test_an_edited_applied_migration_is_refused(project, database):
    write_models(project, STEPS[0][1])
    made = make_migration(project, "create_users")
    await Migrator(database, load_migrations(project)).up()
    made.path.write_text(made.path.read_text() + "\n# edited\n")
    with pytest.raises(MigrateError) as caught:
        await Migrator(database, load_migrations(project)).up()
    assert caught.value.code == "migrate.checksum_mismatch"
    assert made.path.stem in str(caught.value)
    assert [s.state for s in await Migrator(database, load_migrations(project)).status()] == [
        "edited"
    ]


async def test_a_failing_migration_is_rolled_back_or_resumable(project, database):
    write_models(project, STEPS[0][1])
    make_migration(project, "create_users")
    folder = project / "apps" / "main" / "migrations"
    (folder / "29990101000000-broken.py").write_text(
        "from mega.plugins.db.migrations import Migration, op\n"
        "migration = Migration(\n"
        "    up=[op.sql('CREATE TABLE extra (id INT)'), op.sql('THIS IS NOT SQL')],\n"
        "    down=[op.sql('SELECT 1'), op.sql('DROP TABLE extra')],\n"
        ")\n"
    )
    migrator = Migrator(database, load_migrations(project))
    with pytest.raises(MigrateError) as caught:
        await migrator.up()
    assert caught.value.code == "migrate.failed" and "broken" in str(caught.value)
    states = {s.name: s for s in await migrator.status()}
    broken = states["29990101000000-broken"]
    if database.dialect.capabilities.transactional_ddl:
        assert broken.state == "pending"  # rolled back: nothing of it applied
        assert "extra" not in await database.introspect()
    else:
        assert (broken.state, broken.ops_done) == ("partial", 1)  # op 1 ran and is recorded
        assert "extra" in await database.introspect()
        await migrator.down(steps=1)  # undoes exactly the op that ran
        assert "extra" not in await database.introspect()


async def test_two_runners_at_once_apply_each_migration_once(project, database, tmp_path):
    import asyncio

    write_models(project, STEPS[0][1])
    make_migration(project, "create_users")
    if database.dialect.name == "sqlite":
        from mega.plugins.sqlite import SqliteDatabase

        other = SqliteDatabase(alias="m2", options=database.options)
    else:
        other = type(database)(alias="m2", options=database.options)
    await other.connect()
    try:
        results = await asyncio.gather(
            Migrator(database, load_migrations(project)).up(),
            Migrator(other, load_migrations(project)).up(),
        )
    finally:
        await other.close()
    assert sorted(len(r) for r in results) == [0, 1]  # one applied, the other found nothing


def test_invalid_names_are_refused(project):
    with pytest.raises(MegaConfigError, match="lower case letters"):
        make_migration(project, "Add Users")
