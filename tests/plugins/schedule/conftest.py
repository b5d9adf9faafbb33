"""Booting apps with the schedule plugin and a lock backend, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import textwrap
import uuid

import pytest

from mega.testing import boot_app
from mega.testing.services import require


@pytest.fixture
def lock_file(tmp_path):
    return str(tmp_path / "locks.sqlite3")


@pytest.fixture
def scheduler_app(lock_file):
    """``async with scheduler_app(*classes, start=False, lock=...) as (app, scheduler, events)``."""

    @contextlib.asynccontextmanager
    async def make(*classes, start=False, lock=None, keep_lock_ms=60_000):
        lock = lock or {"driver": "sqlite", "path": lock_file}
        plugins = ["schedule", lock["driver"]]
        config = {
            "app": {"plugins": plugins, "name": f"sched-{uuid.uuid4().hex[:6]}"},
            "plugins": {"schedule": {"start": False, "keep_lock_ms": keep_lock_ms}},
            "adapters": {"lock": {"default": lock}},
        }
        async with boot_app(config, environ={}) as app:
            scheduler = app.extensions["schedule"]
            events = []
            for name in ("fire", "skip", "done", "fail"):
                scheduler.events.on(name, events.append)
            for cls in classes:
                scheduler.add(cls)
            if start:
                scheduler.start()
            yield app, scheduler, events

    return make


@pytest.fixture
def wait_for():
    """``await wait_for(predicate, within=10)``: poll until true; fail the test after that."""

    async def wait(predicate, within=10.0):
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)

    return wait


def lock_table(driver, tmp_path, unique):
    """The ``[adapters.lock.default]`` body for ``driver``; skips when its service is down."""
    if driver == "sqlite":
        return f'driver = "sqlite"\npath = "{tmp_path / "locks.sqlite3"}"'
    if driver == "redis":
        require("redis")
        return f'driver = "redis"\nkey_prefix = "mega-test:{unique}:"'
    require("postgres")
    return f'driver = "postgres"\ntable = "mega_test_locks_{unique}"'


def cleanup(driver, unique):
    """Delete what ``lock_table(driver, _, unique)`` made: redis keys, postgres tables."""
    if driver == "redis":
        import redis

        client = redis.Redis()
        keys = list(client.scan_iter(match=f"mega-test:{unique}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    elif driver == "postgres":
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qc",
                f"DROP TABLE IF EXISTS mega_test_locks_{unique}, mega_test_locks_{unique}_fences",
            ],
            check=False,
            capture_output=True,
        )


def schedule_project(tmp_path, driver, unique, schedules):
    """A project under ``tmp_path/proj`` with ``schedules`` (file stem -> source) in
    ``apps/main/schedules`` and the ``default`` lock on ``driver``; returns its root."""
    project = tmp_path / "proj"
    (project / "apps" / "main" / "schedules").mkdir(parents=True)
    (project / "apps" / "__init__.py").write_text("")
    (project / "apps" / "main" / "__init__.py").write_text("")
    for stem, source in schedules.items():
        path = project / "apps" / "main" / "schedules" / f"{stem}.py"
        path.write_text(textwrap.dedent(source))
    (project / "mega.toml").write_text(
        f'[app]\nname = "sched"\nplugins = ["schedule", "{driver}"]\nlog_format = "json"\n\n'
        f"[adapters.lock.default]\n{lock_table(driver, tmp_path, unique)}\n"
    )
    return project


def project_env(**extra):
    """The test process's environment without MEGA__ overrides, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
    env.update(extra)
    return env


def stop_all(procs):
    """SIGTERM every process, wait for each; returns what each wrote to stderr afterwards."""
    for proc in procs:
        proc.terminate()
    outputs = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        outputs.append(err or "")
    return outputs
