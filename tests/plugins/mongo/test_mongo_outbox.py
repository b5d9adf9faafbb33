"""The jobs outbox on MongoDB: txoutbox's storage contract on the outbox collection, and a job
enqueued inside a transaction published after the commit, never after a rollback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from txoutbox.testing import StorageContract

from mega.plugins.db import CreateTable
from mega.plugins.jobs import Job, JobOutbox, Outboxed, OutboxStorage
from mega.testing import boot_app


class TestOutboxStorageOnMongo(StorageContract):
    async def insert(self, storage: Any, topic: str, payload: bytes, key: str | None = None) -> Any:
        return await storage.add(topic, payload, key=key)

    @pytest.fixture
    async def storage(self, mongo_db: Any) -> OutboxStorage:
        await mongo_db.apply([CreateTable(JobOutbox.table_def())])
        return OutboxStorage(mongo_db)


class Welcome(Job):
    subject = "mongo_outbox.welcome"
    retries = 0

    async def run(self, payload: Any, ctx: Any) -> Any:
        return payload


async def test_a_job_enqueued_in_a_mongo_transaction_waits_for_the_commit(mongo_options, tmp_path):
    if mongo_options.transactions == "auto":
        pytest.skip("the server's transactions are probed at boot; this case needs them on")
    config = {
        "app": {"plugins": ["db", "mongo", "jobs"], "name": "mongo_outbox"},
        "adapters": {
            "db": {"default": {"driver": "mongo", **mongo_options.model_dump(exclude_none=True)}},
            "bus": {"default": {"driver": "local", "path": str(tmp_path / "jobs.sqlite3")}},
        },
    }
    async with boot_app(config, environ={}) as app:
        db = app.ctx().db()
        await db.apply([CreateTable(JobOutbox.table_def())])
        jobs = app.ctx().jobs
        jobs.add(Welcome)
        dispatched: list[Any] = []
        jobs.events.on("dispatch", dispatched.append)
        async with db.transaction():
            stored = await jobs.enqueue(Welcome, {"user": 1})
            assert isinstance(stored, Outboxed)
            assert dispatched == []
        assert len(dispatched) == 1
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await jobs.enqueue(Welcome, {"user": 2})
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.3)
        assert len(dispatched) == 1
