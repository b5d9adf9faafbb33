"""Migrations end to end on sqlite, PostgreSQL and MariaDB: model edits → make → up → the live
schema matches the models, data survives every step → down all the way → an empty schema."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import textwrap
import uuid
from pathlib import Path

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
def models_project(tmp_path, monkeypatch):
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


async def test_model_edits_migrate_up_keep_data_and_migrate_down_to_empty(models_project, database):
    db = database
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for number, (name, source, allow_drop) in enumerate(STEPS):
        write_models(models_project, source)
        made = make_migration(
            models_project, name, allow_drop=allow_drop, now=clock + dt.timedelta(minutes=number)
        )
        assert made.path is not None, name
        applied = await Migrator(db, load_migrations(models_project)).up()
        assert applied == [made.path.stem]
        if name == "create_users":
            await db.execute("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')")
        if name == "notes_with_fk":
            await db.execute("INSERT INTO notes (body, author_id) VALUES ('hi', 1)")
        schema = await db.introspect()
        from mega.plugins.db.migrations import scan_models

        expected = {t: sorted(c.name for c in tbl.columns)
                    for t, tbl in scan_models(models_project).tables.items()}  # fmt: skip
        assert live(schema) == expected, name
        rows = await db.fetch_all("SELECT * FROM users")
        assert rows and rows[0]["email"] == "ada@example.com", name
    # the data followed the rename and the type change
    assert (await db.fetch_all("SELECT full_name FROM users"))[0]["full_name"] == "Ada"
    assert (await db.fetch_all("SELECT body, author_id FROM notes"))[0]["author_id"] == 1
    # nothing changed → nothing written
    assert make_migration(models_project, "noop").path is None
    statuses = await Migrator(db, load_migrations(models_project)).status()
    assert [s.state for s in statuses] == ["applied"] * len(STEPS)
    undone = await Migrator(db, load_migrations(models_project)).down(steps=len(STEPS))
    assert len(undone) == len(STEPS)
    assert live(await db.introspect()) == {}


async def test_destructive_and_ambiguous_changes_need_allow_drop(models_project, database):
    write_models(models_project, STEPS[1][1])
    make_migration(models_project, "start")
    write_models(models_project, STEPS[1][1].replace("age = Int(nullable=True)", ""))
    with pytest.raises(MegaConfigError) as caught:
        make_migration(models_project, "drop_age")
    assert caught.value.code == "migrate.destructive" and "drop column users.age" in str(
        caught.value
    )
    write_models(models_project, STEPS[1][1].replace("age = Int", "years = Int"))
    with pytest.raises(MegaConfigError) as caught:
        make_migration(models_project, "maybe_rename", confirm=lambda question: False)
    assert caught.value.code == "migrate.ambiguous_change"
    assert "renamed_from='age'" in str(caught.value)
    assert make_migration(models_project, "maybe_rename", confirm=lambda q: True).path is not None


async def test_an_edited_applied_migration_is_refused(models_project, database):
    write_models(models_project, STEPS[0][1])
    made = make_migration(models_project, "create_users")
    await Migrator(database, load_migrations(models_project)).up()
    made.path.write_text(made.path.read_text() + "\n# edited\n")
    with pytest.raises(MigrateError) as caught:
        await Migrator(database, load_migrations(models_project)).up()
    assert caught.value.code == "migrate.checksum_mismatch"
    assert made.path.stem in str(caught.value)
    assert [
        s.state for s in await Migrator(database, load_migrations(models_project)).status()
    ] == ["edited"]


async def test_a_failing_migration_is_rolled_back_or_resumable(models_project, database):
    write_models(models_project, STEPS[0][1])
    make_migration(models_project, "create_users")
    folder = models_project / "apps" / "main" / "migrations"
    (folder / "29990101000000-broken.py").write_text(
        "from mega.plugins.db.migrations import Migration, op\n"
        "migration = Migration(\n"
        "    up=[op.sql('CREATE TABLE extra (id INT)'), op.sql('THIS IS NOT SQL')],\n"
        "    down=[op.sql('SELECT 1'), op.sql('DROP TABLE extra')],\n"
        ")\n"
    )
    migrator = Migrator(database, load_migrations(models_project))
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


@pytest.mark.parametrize("database", ["maria"], indirect=True)  # the one without DDL transactions
async def test_a_partial_migration_resumes_at_the_failed_op(models_project, database):
    """Without transactional DDL, fixing what made op 2 fail and running up again resumes there."""
    assert not database.dialect.capabilities.transactional_ddl
    folder = models_project / "apps" / "main" / "migrations"
    folder.mkdir(parents=True)
    (folder / "29990101000000-two_tables.py").write_text(
        "from mega.plugins.db.migrations import Migration, op\n"
        "migration = Migration(\n"
        "    up=[op.sql('CREATE TABLE one (id INT)'), op.sql('CREATE TABLE two (id INT)')],\n"
        "    down=[op.sql('DROP TABLE two'), op.sql('DROP TABLE one')],\n"
        ")\n"
    )
    await database.execute("CREATE TABLE two (x INT)")  # in the way of op 2
    migrator = Migrator(database, load_migrations(models_project))
    with pytest.raises(MigrateError, match="at op 2"):
        await migrator.up()
    await database.execute("DROP TABLE two")  # the cause, fixed
    assert await migrator.up() == ["29990101000000-two_tables"]
    assert [s.state for s in await migrator.status()] == ["applied"]
    assert {"one", "two"} <= set(await database.introspect())


async def test_two_runners_at_once_apply_each_migration_once(models_project, database, tmp_path):
    import asyncio

    write_models(models_project, STEPS[0][1])
    make_migration(models_project, "create_users")
    if database.dialect.name == "sqlite":
        from mega.plugins.sqlite import SqliteDatabase

        other = SqliteDatabase(alias="m2", options=database.options)
    else:
        other = type(database)(alias="m2", options=database.options)
    await other.connect()
    try:
        results = await asyncio.gather(
            Migrator(database, load_migrations(models_project)).up(),
            Migrator(other, load_migrations(models_project)).up(),
        )
    finally:
        await other.close()
    assert sorted(len(r) for r in results) == [0, 1]  # one applied, the other found nothing


def test_invalid_names_are_refused(models_project):
    with pytest.raises(MegaConfigError, match="lower case letters"):
        make_migration(models_project, "Add Users")


def test_migrate_cli_end_to_end_with_two_concurrent_runners(project, enable, mega):
    """`mega migrate make/up/status/sql/check/down` in a generated project (sqlite), and two
    `mega migrate up` processes started together: exactly one applies."""
    import subprocess
    import sys as _sys

    enable("db", "sqlite", extra='\n[adapters.db.default]\ndriver = "sqlite"\npath = "app.db"\n')
    mega("g", "model", "BlogPost", cwd=project)
    out = mega("migrate", "make", "create_posts", cwd=project).stdout
    assert "created apps/main/migrations/" in out and "create_posts.py" in out
    assert "no changes" in mega("migrate", "make", "again", cwd=project).stdout
    sql = mega("migrate", "sql", cwd=project).stdout
    assert "CREATE TABLE" in sql and "blog_post" in sql
    enable("postgres")
    pg_sql = mega("migrate", "sql", "--dialect", "postgres", cwd=project).stdout
    assert "BIGSERIAL" in pg_sql.upper() or "IDENTITY" in pg_sql.upper(), pg_sql
    procs = [
        subprocess.Popen(
            [_sys.executable, "-m", "mega", "migrate", "up"],
            cwd=project,
            env=mega.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted("applied 1 migration(s)" in o for o in outputs) == [False, True], outputs
    assert any("nothing to apply" in o for o in outputs)
    status = mega("migrate", "status", cwd=project).stdout
    assert status.startswith("applied ") and "create_posts" in status
    assert "no drift" in mega("migrate", "check", cwd=project).stdout
    import sqlite3

    with sqlite3.connect(project / "app.db") as conn:
        conn.execute("CREATE TABLE stray (id INT)")
    drifted = mega("migrate", "check", cwd=project, ok=False)
    assert drifted.returncode == 1
    assert "table stray is in the database but in no migration" in drifted.stdout
    assert "undone" in mega("migrate", "down", cwd=project).stdout
    out = mega("g", "migration", "backfill_titles", cwd=project).stdout
    assert "apps/main/migrations/" in out and "backfill_titles.py" in out


async def test_table_rename_and_partial_index(models_project, database):
    db = database
    write_models(models_project, """
        class Member(Model):
            __table__ = "members"
            email = String(120)
            nick = String(40, nullable=True)
        """)  # fmt: skip
    make_migration(models_project, "members")
    await Migrator(db, load_migrations(models_project)).up()
    await db.execute("INSERT INTO members (email) VALUES ('a@b.c')")
    partial = db.dialect.capabilities.partial_indexes
    index = '__indexes__ = [Index("email", where=nick.is_null())]' if partial else ""
    write_models(models_project, f"""
        class Member(Model):
            __table__ = "people"
            __renamed_from__ = "members"
            email = String(120)
            nick = String(40, nullable=True)
            {index}
        """)  # fmt: skip
    made = make_migration(models_project, "rename_to_people")
    text = made.path.read_text()
    assert 'op.rename_table("members", "people")' in text
    assert "drop_table" not in text
    await Migrator(db, load_migrations(models_project)).up()
    schema = await db.introspect()
    assert "people" in schema and "members" not in schema
    assert (await db.fetch_all("SELECT email FROM people"))[0]["email"] == "a@b.c"
    if partial:
        assert "ix_people_email" in {ix.name for ix in schema["people"].indexes}
    await Migrator(db, load_migrations(models_project)).down(steps=2)
    assert live(await db.introspect()) == {}


async def test_ensure_partitions_creates_the_coming_ones_once(database):
    from mega.plugins.db import (
        BigInt,
        CreateTable,
        DateTime,
        Model,
        PartitionBy,
        String,
        ensure_partitions,
    )

    class Entry(Model):
        __table__ = f"entries_{uuid.uuid4().hex[:6]}"
        __partition__ = PartitionBy("at", interval="month")
        id = BigInt(primary_key=True)
        at = DateTime()
        line = String(50)

    db = database
    await db.apply([CreateTable(Entry.table_def())])
    now = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)
    created = await ensure_partitions(db, Entry, ahead=2, now=now)
    if not db.dialect.capabilities.partitioning:
        assert created == []
    else:
        t = Entry.__table__
        assert created == [f"{t}_2026_11", f"{t}_2026_12", f"{t}_2027_01"]
        assert await ensure_partitions(db, Entry, ahead=2, now=now) == []
        await db.insert(Entry, {"at": dt.datetime(2027, 1, 5, tzinfo=dt.UTC), "line": "x"})
    await db.insert(Entry, {"at": now, "line": "y"})
    assert await db.count(Entry) == (2 if created else 1)


async def test_ensure_partitions_run_by_many_at_once_creates_each_once(database):
    from mega.plugins.db import BigInt, CreateTable, DateTime, Model, PartitionBy, ensure_partitions

    class Burst(Model):
        __table__ = f"burst_{uuid.uuid4().hex[:6]}"
        __partition__ = PartitionBy("at", interval="month")
        id = BigInt(primary_key=True)
        at = DateTime()

    db = database
    await db.apply([CreateTable(Burst.table_def())])
    now = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)
    # many writers finding the month's partition missing at once (a fresh database)
    results = await asyncio.gather(
        *(ensure_partitions(db, Burst, ahead=1, now=now) for _ in range(12))
    )
    made = [name for names in results for name in names]
    if db.dialect.capabilities.partitioning:
        t = Burst.__table__
        assert sorted(set(made)) == [f"{t}_2026_11", f"{t}_2026_12"]  # and no error
        partitions = (await db.introspect())[t].partitions
        assert sorted(partitions) == [f"{t}_2026_11", f"{t}_2026_12"]
    await db.insert(Burst, {"at": now})


def test_generated_migrations_are_already_as_ruff_formats_them(models_project):
    """Formatting an applied migration changes its checksum (and it is refused as edited):
    what make writes must be what ruff format would write."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    written = []
    for name, models, _allow_drop in STEPS:
        write_models(models_project, models)
        made = make_migration(models_project, name, allow_drop=True, confirm=lambda q: True)
        if made.path is not None:
            written.append(str(made.path))
    assert len(written) >= 3
    config = Path(__file__).resolve().parents[3] / "pyproject.toml"
    checked = subprocess.run(
        [ruff, "format", "--check", "--diff", "--config", str(config), *written],
        capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_unique_columns_are_not_reported_as_drift(models_project, database):
    from mega.plugins.db.migrations.drift import drift

    write_models(models_project, STEPS[0][1])  # email = String(120, unique=True)
    make_migration(models_project, "create_users")
    await Migrator(database, load_migrations(models_project)).up()
    # before: SQLite named the constraint's index sqlite_autoindex_users_1, and check said
    # "index uq_users_email on users is missing from the database"
    assert drift(models_project, "default", await database.introspect(), database.dialect) == []
