"""The transactional outbox in an app: a job enqueued inside ``db.transaction()`` is published
after the commit, never after a rollback, and what a crash or a bus outage left behind is
published by the relay exactly once. Both profiles: SQLite + the local bus, PostgreSQL + NATS."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from mega import MegaConfigError
from mega.plugins.db import CreateTable
from mega.plugins.jobs import Job, JobOutbox, Outboxed, Published
from mega.testing import boot_app
from mega.testing.services import delete_streams, require


class Welcome(Job):
    subject = "outbox.welcome"
    retries = 0

    async def run(self, payload: Any, ctx: Any) -> Any:
        return payload


def _config(profile: str, tmp_path: Any, names: dict[str, str], **jobs: Any) -> dict[str, Any]:
    if profile == "sqlite-local":
        db = {"driver": "sqlite", "path": str(tmp_path / "app.sqlite3")}
        bus = {"driver": "local", "path": str(tmp_path / "jobs.sqlite3"), "poll_ms": 20}
        plugins = ["db", "sqlite", "jobs"]
    else:
        db = {"driver": "postgres", "schema_name": names["schema"], "pool_max": 4}
        bus = {"driver": "nats", "servers": [names["nats"]], "stream_prefix": names["prefix"]}
        plugins = ["db", "postgres", "jobs"]
    settings = {"outbox_lease_ms": 1_000, "outbox_publish_timeout_ms": 150,
                "outbox_poll_max_ms": 100, **jobs}  # fmt: skip
    return {
        "app": {"plugins": plugins, "name": "outboxapp"},
        "plugins": {"jobs": settings},
        "adapters": {"db": {"default": db}, "bus": {"default": bus}},
    }


@pytest.fixture(params=["sqlite-local", "postgres-nats"])
def profile(request, tmp_path):
    """``config(**jobs_settings)`` for one profile; the schema and streams are removed after."""
    names = {"schema": f"mega_ob_{uuid.uuid4().hex[:10]}", "prefix": f"OB{uuid.uuid4().hex[:8]}"}
    if request.param == "postgres-nats":
        require("postgres")
        host, port = require("nats")
        names["nats"] = f"nats://{host}:{port}"

    def config(**jobs: Any) -> dict[str, Any]:
        return _config(request.param, tmp_path, names, **jobs)

    config.name = request.param  # type: ignore[attr-defined]
    config.names = names  # type: ignore[attr-defined]
    yield config
    if request.param == "postgres-nats":
        asyncio.run(_drop_schema(names["schema"]))
        asyncio.run(delete_streams(names["prefix"], server=names["nats"]))


async def _drop_schema(schema: str) -> None:
    from mega.plugins.postgres import PostgresDatabase, PostgresOptions

    db = PostgresDatabase(alias="cleanup", options=PostgresOptions(pool_max=1))
    await db.connect()
    await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await db.close()


async def _with_table(app: Any) -> Any:
    db = app.ctx().db()
    await db.apply([CreateTable(JobOutbox.table_def())])
    app.ctx().jobs.add(Welcome)
    return db


async def depth(app: Any) -> int:
    queue = app.ctx().jobs.queue("default")
    await queue.ensure(Welcome.subject)
    return (await queue.bus.stats(Welcome.subject)).depth


async def outbox_rows(db: Any) -> int:
    return await db.count(JobOutbox, JobOutbox.id > 0)


async def rows_until(db: Any, done: Any, within: float = 30.0, step: float = 0.05) -> int:
    """Poll the outbox's row count until ``done(count)``; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:  # polls a table: there is no event to wait on
            count = await outbox_rows(db)
            if done(count):
                return count
            await asyncio.sleep(step)


async def test_a_job_enqueued_in_a_transaction_is_published_after_the_commit(profile):
    async with boot_app(profile(), environ={}) as app:
        db = await _with_table(app)
        jobs = app.ctx().jobs
        dispatched = []
        jobs.events.on("dispatch", dispatched.append)
        async with db.transaction():
            stored = await jobs.enqueue(Welcome, {"user": 1}, msg_id="welcome-1")
            assert isinstance(stored, Outboxed) and stored.msg_id == "welcome-1"
            assert await depth(app) == 0  # nothing a worker could take before the commit
            assert dispatched == []
        assert await depth(app) == 1
        assert [e.data["duplicate"] for e in dispatched] == [False]
        await rows_until(db, lambda n: n == 0, within=5)  # deleted in the background
        # the same msg_id again (a retried request, now outside a transaction) is deduplicated
        again = await jobs.enqueue(Welcome, {"user": 1}, msg_id="welcome-1")
        assert isinstance(again, Published) and again.duplicate


async def test_a_rolled_back_transaction_publishes_nothing(profile):
    async with boot_app(profile(), environ={}) as app:
        db = await _with_table(app)
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await app.ctx().jobs.enqueue(Welcome, {"user": 2})
                await app.ctx().jobs.enqueue_many(Welcome, [{"user": 3}, {"user": 4}])
                raise RuntimeError("the registration failed")
        await asyncio.sleep(0.3)  # several relay polls
        assert await depth(app) == 0
        assert await outbox_rows(db) == 0


async def test_a_rolled_back_savepoint_drops_only_its_jobs(profile):
    async with boot_app(profile(), environ={}) as app:
        db = await _with_table(app)
        jobs = app.ctx().jobs
        async with db.transaction():
            await jobs.enqueue(Welcome, {"kept": 1})
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    await jobs.enqueue(Welcome, {"dropped": 1})
                    raise RuntimeError("inner step failed")
            await jobs.enqueue(Welcome, {"kept": 2})
        assert await depth(app) == 2
        await rows_until(db, lambda n: n == 0, within=5)


async def test_outside_a_transaction_enqueue_publishes_at_once(profile):
    async with boot_app(profile(), environ={}) as app:
        await _with_table(app)
        published = await app.ctx().jobs.enqueue(Welcome, {"user": 5})
        assert isinstance(published, Published)
        assert await depth(app) == 1


async def test_outbox_db_empty_turns_the_outbox_off(profile):
    async with boot_app(profile(outbox_db=""), environ={}) as app:
        db = await _with_table(app)
        async with db.transaction():
            published = await app.ctx().jobs.enqueue(Welcome, {"user": 6})
            assert isinstance(published, Published)
            assert await depth(app) == 1  # published before the commit, as asked


async def test_without_the_outbox_table_enqueue_in_a_transaction_says_what_to_run(profile):
    async with boot_app(profile(), environ={}) as app:
        app.ctx().jobs.add(Welcome)
        db = app.ctx().db()
        with pytest.raises(MegaConfigError) as caught:
            async with db.transaction():
                await db.execute("CREATE TABLE kept_or_not (id INTEGER PRIMARY KEY)")
                try:
                    await app.ctx().jobs.enqueue(Welcome, {"user": 7})
                finally:
                    # the failed check did not abort the transaction: it still runs statements
                    await db.execute("INSERT INTO kept_or_not (id) VALUES (1)")
        assert caught.value.code == "jobs.outbox_missing"
        assert "mega migrate make add_job_outbox" in caught.value.message
        assert "mega_job_outbox" in caught.value.message


async def test_the_outbox_table_is_in_mega_migrate_make(tmp_path, mega, project, enable):
    enable("db", "sqlite", "jobs", extra='[adapters.db.default]\ndriver = "sqlite"\n')
    made = mega("migrate", "make", "add_job_outbox", cwd=project)
    assert made.returncode == 0, made.stderr
    [path] = (project / "apps" / "main" / "migrations").glob("*-add_job_outbox.py")
    assert "mega_job_outbox" in path.read_text()
    assert mega("migrate", "up", cwd=project).returncode == 0
    # the models now match the journal: the outbox is not written twice
    again = mega("migrate", "make", "again", cwd=project)
    assert "no changes" in again.stdout
    status = mega("jobs", "outbox", cwd=project)
    assert "outbox on db 'default': 0 pending, 0 dead" in status.stdout


async def test_dead_rows_are_kept_and_can_be_put_back(profile):
    async with boot_app(profile(outbox_relay=False), environ={}) as app:
        db = await _with_table(app)
        storage = app.ctx().jobs.outbox.storage
        row_id = await storage.add(Welcome.subject, '{"user": 11}', key="k")
        [claimed] = await storage.claim(batch_size=1, lease=timedelta(seconds=5), worker_id="w")
        await storage.dead_letter(claimed.id, worker_id="w", error="payload too large")
        stats = await storage.stats()
        assert (stats.pending, stats.dead) == (0, 1)
        [row] = await db.find(JobOutbox, JobOutbox.id == row_id)
        assert row["last_error"] == "payload too large"
        assert await storage.revive_dead() == 1
        app.ctx().jobs.outbox.start_relay()
        await rows_until(db, lambda n: n == 0)
        assert await depth(app) == 1


async def test_a_commit_while_the_bus_is_down_is_published_once_it_is_back(tmp_path, own_nats):
    names = {"prefix": f"OB{uuid.uuid4().hex[:8]}", "nats": own_nats.url}
    config = _config("sqlite-local", tmp_path, names)
    config["app"]["plugins"] = ["db", "sqlite", "jobs"]
    config["adapters"]["bus"]["default"] = {
        "driver": "nats", "servers": [own_nats.url], "stream_prefix": names["prefix"],
        "connect_timeout_ms": 500,
    }  # fmt: skip
    async with boot_app(config, environ={}) as app:
        db = await _with_table(app)
        await depth(app)  # the streams exist
        own_nats.stop()
        async with db.transaction():
            await app.ctx().jobs.enqueue(Welcome, {"user": 8})
        assert await outbox_rows(db) == 1  # committed, kept until a publish succeeds
        own_nats.start()
        await rows_until(db, lambda n: n == 0)
        assert await depth(app) == 1


KILLED_AFTER_COMMIT = """
import asyncio, json, os, signal, sys
from mega.plugins.db import CreateTable
from mega.plugins.jobs import Job, JobOutbox
from mega.testing import boot_app

class Welcome(Job):
    subject = "outbox.welcome"
    async def run(self, payload, ctx):
        return payload

async def die():
    os.kill(os.getpid(), signal.SIGKILL)

async def main():
    async with boot_app(json.loads(sys.argv[1]), environ={}) as app:
        db = app.ctx().db()
        await db.apply([CreateTable(JobOutbox.table_def())])
        app.ctx().jobs.add(Welcome)
        async with db.transaction():
            db.on_commit(die)  # runs first after the COMMIT: before the outbox publishes
            await app.ctx().jobs.enqueue(Welcome, {"user": 9})

asyncio.run(main())
"""


async def test_a_process_killed_between_commit_and_publish_is_published_after_restart(
    profile, tmp_path
):
    config = profile()
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_AFTER_COMMIT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), json.dumps(config),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == -9, err.decode()
    async with boot_app({**config, "plugins": {"jobs": {**config["plugins"]["jobs"],
                                                         "outbox_relay": False}}},
                        environ={}) as app:  # fmt: skip
        db = app.ctx().db()
        app.ctx().jobs.add(Welcome)
        assert await outbox_rows(db) == 1  # committed, never published
        assert await depth(app) == 0
        app.ctx().jobs.outbox.start_relay()
        await rows_until(db, lambda n: n == 0)  # the dead writer's lease (1 s) lapses
        await asyncio.sleep(0.5)
        assert await depth(app) == 1  # exactly once


async def test_a_relay_stopped_mid_batch_leaves_the_rest_to_the_next_exactly_once(profile):
    async with boot_app(profile(outbox_relay=False), environ={}) as app:
        db = await _with_table(app)
        outbox = app.ctx().jobs.outbox
        # rows as a writer that died after its commit leaves them: unleased, for the relay
        rows = [{"bus": "default", "subject": Welcome.subject, "msg_id": f"m-{i}",
                 "key": "k", "payload": json.dumps({"n": i})} for i in range(600)]  # fmt: skip
        await outbox.storage.insert(rows, leased_by=None, lease=timedelta(0))
        outbox.start_relay()
        await rows_until(db, lambda n: n < 600, step=0.005)
        await outbox.stop_relay(timeout_s=0.001)  # SIGTERM, then the deadline: cut mid-round
        left = await outbox_rows(db)
        assert 0 < left < 600
        outbox.start_relay()  # the next process
        await rows_until(db, lambda n: n == 0, within=60)
        await outbox.stop_relay(timeout_s=5)
        assert await depth(app) == 600  # a row published twice was stored once (its msg_id)


async def test_rows_published_just_before_shutdown_are_still_deleted(profile):
    async with boot_app(profile(), environ={}) as app:
        db = await _with_table(app)
        async with db.transaction():
            await app.ctx().jobs.enqueue(Welcome, {"user": 10})
    async with boot_app(profile(outbox_relay=False), environ={}) as app:
        assert await outbox_rows(app.ctx().db()) == 0
        assert await depth(app) == 1


ADD_STRANDED_ROW = """
import asyncio
from mega.cli._project import tool_app
from mega.plugins.jobs import OutboxStorage

async def main():
    db = tool_app().adapters.get("db", "default")
    await db.connect()
    # what a web process killed after its commit leaves: a row no one holds
    await OutboxStorage(db).add("outbox.stranded", '{"n": 1}', key="default/outbox.stranded")
    await db.close()

asyncio.run(main())
"""


def test_mega_worker_runs_the_relay_and_migrate_and_jobs_outbox_need_no_bus(
    mega, project, enable, start_mega_run
):
    enable(
        "db", "sqlite", "jobs",
        extra='[adapters.db.default]\ndriver = "sqlite"\n'
        # a bus that is down: nothing listens on port 9 (the outbox command must not care)
        '[adapters.bus.default]\ndriver = "nats"\nservers = ["nats://127.0.0.1:9"]\n'
        "boot_connect_ms = 500\n",
    )  # fmt: skip
    mega("migrate", "make", "add_job_outbox", cwd=project)
    mega("migrate", "up", cwd=project, timeout=30)  # before: failed, the bus being down
    (project / "add_row.py").write_text(ADD_STRANDED_ROW)
    mega.python(project, "add_row.py")
    status = mega("jobs", "outbox", cwd=project, timeout=30)  # before: waited for the bus
    assert "1 pending" in status.stdout, status.stdout
    # the same project on the local bus: a worker alone publishes the stranded row
    toml = project / "mega.toml"
    toml.write_text(
        toml.read_text().replace(
            '[adapters.bus.default]\ndriver = "nats"\nservers = ["nats://127.0.0.1:9"]\n'
            "boot_connect_ms = 500\n",
            '[adapters.bus.default]\ndriver = "local"\n',
        )
    )
    worker = start_mega_run(project, mega.env(), ("worker",), "worker ready")
    try:
        deadline = time.monotonic() + 20
        while "0 pending" not in mega("jobs", "outbox", cwd=project).stdout:
            assert time.monotonic() < deadline, "the worker did not publish the stranded row"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
