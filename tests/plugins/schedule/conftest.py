"""Booting apps with the schedule plugin and a lock backend, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from mega.testing import boot_app


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
