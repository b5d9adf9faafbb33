"""The outbox table as txoutbox's ``Storage``, on every SQL dialect: txoutbox's own contract
suite (fenced leases, strict per-key order, concurrent claims), and the relay on top of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from txoutbox import Hooks, OutboxMessage, Relay, RelayConfig
from txoutbox.testing import StorageContract

from mega.plugins.db import CreateTable, Database
from mega.plugins.jobs import JobOutbox, OutboxStorage
from mega.testing.services import require


async def _sqlite(tmp_path: Any) -> AsyncIterator[Database]:
    from mega.plugins.sqlite import SqliteDatabase, SqliteOptions

    db = SqliteDatabase(alias="outbox", options=SqliteOptions(path=str(tmp_path / "o.sqlite3")))
    await db.connect()
    yield db
    await db.close()


async def _postgres(tmp_path: Any) -> AsyncIterator[Database]:
    from mega.plugins.postgres import PostgresDatabase, PostgresOptions

    require("postgres")
    schema = f"mega_outbox_{uuid.uuid4().hex[:12]}"
    db = PostgresDatabase(alias="outbox", options=PostgresOptions(schema_name=schema, pool_max=4))
    await db.connect()
    try:
        yield db
    finally:
        await db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await db.close()


async def _maria(tmp_path: Any) -> AsyncIterator[Database]:
    from mega.plugins.maria import MariaDatabase, MariaOptions

    require("maria")
    name = f"mega_outbox_{uuid.uuid4().hex[:12]}"
    admin = MariaDatabase(alias="admin", options=MariaOptions(pool_max=1))
    await admin.connect()
    await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    db = MariaDatabase(alias="outbox", options=MariaOptions(database=name, pool_max=4))
    await db.connect()
    try:
        yield db
    finally:
        await db.close()
        await admin.execute(f"DROP DATABASE `{name}`")
        await admin.close()


DIALECTS = {"sqlite": _sqlite, "postgres": _postgres, "maria": _maria}


@pytest.fixture(params=sorted(DIALECTS))
async def outbox_db(request, tmp_path) -> AsyncIterator[Database]:
    """A database of each SQL dialect holding an empty outbox table."""
    async for db in DIALECTS[request.param](tmp_path):
        await db.apply([CreateTable(JobOutbox.table_def())])
        yield db


class TestOutboxStorage(StorageContract):
    """txoutbox's contract for a storage, unchanged."""

    short_lease = timedelta(milliseconds=200)

    @pytest.fixture
    async def storage(self, outbox_db: Database) -> OutboxStorage:
        return OutboxStorage(outbox_db)

    async def insert(self, storage: Any, topic: str, payload: bytes, key: str | None = None) -> Any:
        return await storage.add(topic, payload, key=key)


class Recorder:
    """A publisher that records what it published (and can fail chosen payloads once)."""

    def __init__(self, fail_once: set[bytes] = frozenset(), delay_s: float = 0.0) -> None:
        self.published: list[bytes] = []
        self.fail_once = set(fail_once)
        self.delay_s = delay_s

    async def publish(self, message: OutboxMessage) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if message.payload in self.fail_once:
            self.fail_once.discard(message.payload)
            raise ConnectionError("bus unreachable")
        self.published.append(message.payload)


def relay(storage: OutboxStorage, publisher: Recorder, **config: Any) -> Relay:
    settings = {"poll_min": 0.01, "poll_max": 0.05, "lease": timedelta(seconds=5),
                "publish_timeout": 1.0, **config}  # fmt: skip
    return Relay(storage, publisher, config=RelayConfig(**settings))


async def drain(*relays: Relay, storage: OutboxStorage, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        tasks = [asyncio.create_task(r.run()) for r in relays]
        while (await storage.stats()).pending:  # noqa: ASYNC110 (polls a table: no event)
            await asyncio.sleep(0.05)
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)


async def test_two_relays_never_publish_one_row_twice(outbox_db):
    storage = OutboxStorage(outbox_db)
    for i in range(120):
        await storage.add("s", f"{i}".encode(), key=f"k{i % 7}")
    a, b = Recorder(), Recorder()
    await drain(relay(storage, a, batch_size=10), relay(storage, b, batch_size=10), storage=storage)
    published = a.published + b.published
    assert sorted(published) == sorted(f"{i}".encode() for i in range(120))


async def test_a_failed_message_holds_back_the_later_ones_of_its_key(outbox_db):
    storage = OutboxStorage(outbox_db)
    for i in range(12):
        await storage.add("s", f"{i:02}".encode(), key="one-key")
    publisher = Recorder(fail_once={b"03"})
    from txoutbox import Backoff

    quick = Backoff(base=timedelta(milliseconds=100), maximum=timedelta(milliseconds=100))
    await drain(relay(storage, publisher, batch_size=5, backoff=quick), storage=storage)
    assert publisher.published == [f"{i:02}".encode() for i in range(12)]


async def test_a_crashed_relays_lease_lapses_and_another_publishes_its_rows(outbox_db):
    storage = OutboxStorage(outbox_db)
    for i in range(3):
        await storage.add("s", f"{i}".encode())
    # a relay that claimed and died: its rows stay leased, never acked
    claimed = await storage.claim(
        batch_size=10, lease=timedelta(milliseconds=300), worker_id="dead"
    )
    assert len(claimed) == 3
    assert await storage.claim(batch_size=10, lease=timedelta(seconds=5), worker_id="w") == []
    await asyncio.sleep(0.4)
    publisher = Recorder()
    await drain(relay(storage, publisher), storage=storage)
    assert sorted(publisher.published) == [b"0", b"1", b"2"]
    # the dead relay's late ack touches nothing it no longer holds
    await storage.ack([m.id for m in claimed], worker_id="dead")


async def test_an_idle_table_is_polled_ever_more_slowly(outbox_db):
    storage = OutboxStorage(outbox_db)

    class Count(Hooks):
        claims = 0

        async def on_claimed(self, messages: Any) -> None:
            Count.claims += 1

    idle = Relay(storage, Recorder(), config=RelayConfig(poll_min=0.05, poll_max=0.4),
                 hooks=Count())  # fmt: skip
    task = asyncio.create_task(idle.run())
    await asyncio.sleep(2.0)
    idle.stop()
    await task
    # 50, 100, 200, 400, 400… ms apart: about 7 polls in 2 s, not 40 (at 50 ms) or 2000
    assert 3 <= Count.claims <= 12, Count.claims
