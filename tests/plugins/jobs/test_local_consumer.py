"""The local bus's consumer: a stopping worker interrupts its idle fetch, losing nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest

from mega.plugins.jobs import local_bus
from mega.plugins.jobs.local_bus import LocalBus, LocalBusOptions
from mega.plugins.jobs.transport import ConsumerConfig, StreamLimits

LIMITS = StreamLimits(dlq_max_age_ms=0, dlq_max_bytes=None, duplicate_window_ms=60_000)


async def test_interrupt_ends_a_waiting_fetch_and_claims_nothing_after_it(tmp_path):
    bus = LocalBus(alias="t", options=LocalBusOptions(path=str(tmp_path / "jobs.sqlite3")))
    await bus.connect()
    try:
        await bus.ensure_streams("t.work", LIMITS)
        config = ConsumerConfig("t.work", concurrency=4, ack_wait_ms=30_000, max_deliver=3)
        first = await bus.consumer(config)
        waiting = asyncio.create_task(first.fetch(4, 60.0))  # would wait a minute for work
        await asyncio.sleep(0.05)
        first.interrupt()
        # the fetch returns now, with nothing (a hang here fails the test by its timeout)
        assert await asyncio.wait_for(waiting, 5) == []
        # interrupted, it claims nothing: a message published now is left for another consumer
        await bus.publish("t.work", b'{"n": 1}', None)
        assert await first.fetch(4, 0.2) == []
        second = await bus.consumer(config)
        [delivery] = await second.fetch(4, 2.0)
        assert delivery.data == b'{"n": 1}'
    finally:
        await bus.close()


@pytest.fixture
async def two_workers(tmp_path):
    """Two LocalBus objects on one store file: two worker processes, as far as the store can
    tell. Yields a (first bus, its consumer, the other's consumer) for ``t.fair``, 4 at once,
    the other consumer polling already (a claimer), then 8 messages published."""
    path = str(tmp_path / "jobs.sqlite3")
    first = LocalBus(alias="a", options=LocalBusOptions(path=path, poll_ms=50))
    second = LocalBus(alias="b", options=LocalBusOptions(path=path, poll_ms=50))
    await first.connect()
    await second.connect()
    try:
        await first.ensure_streams("t.fair", LIMITS)
        config = ConsumerConfig("t.fair", concurrency=4, ack_wait_ms=30_000, max_deliver=3)
        mine, theirs = await first.consumer(config), await second.consumer(config)
        assert await theirs.fetch(4, 0.05) == []  # polling an empty stream: it is a claimer now
        for n in range(8):
            await first.publish("t.fair", b'{"n": %d}' % n, None)
        yield first, mine, theirs
    finally:
        await first.close()
        await second.close()


async def test_processes_sharing_a_store_split_the_groups_limit_fairly(two_workers, monkeypatch):
    monkeypatch.setattr(local_bus, "CORES", 4)  # split no finer than the cores: say four
    first, mine, theirs = two_workers
    # the group may run 4 at once; two claimers: each may hold 2, however much it asks for
    held = await mine.fetch(4, 1.0)
    assert len(held) == 2
    assert await mine.fetch(2, 0.05) == []  # holding its share: held back, not given more
    assert len(await theirs.fetch(4, 1.0)) == 2
    # a run of ours ends: our freed slot is ours to fill again, and no more than that
    await held[0].ack()
    await first._flush()
    assert len(await mine.fetch(3, 1.0)) == 1


async def test_the_limit_is_split_no_finer_than_the_hosts_cores(two_workers, monkeypatch):
    monkeypatch.setattr(local_bus, "CORES", 1)
    _first, mine, theirs = two_workers
    # one core: one process at a time does the work; splitting would only add claims
    assert len(await mine.fetch(4, 1.0)) == 4
    assert await theirs.fetch(4, 0.05) == []  # the group's limit is reached


async def test_a_writer_holding_the_turn_for_ever_fails_others_after_busy_timeout(tmp_path):
    fcntl = pytest.importorskip("fcntl")  # elsewhere SQLite's own busy wait is all there is
    path = tmp_path / "jobs.sqlite3"
    bus = LocalBus(alias="t", options=LocalBusOptions(path=str(path), busy_timeout_ms=300))
    await bus.connect()
    stopped = os.open(f"{path}.lock", os.O_RDWR)  # a process stopped while it held the turn
    try:
        await bus.ensure_streams("t.stuck", LIMITS)
        fcntl.flock(stopped, fcntl.LOCK_EX)
        # it fails as SQLite would after busy_timeout_ms, rather than wait for ever
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await bus.publish("t.stuck", b'{"n": 1}', None)
        fcntl.flock(stopped, fcntl.LOCK_UN)  # the holder goes on: writes succeed again
        assert (await bus.publish("t.stuck", b'{"n": 2}', None)).seq >= 1
    finally:
        os.close(stopped)
        await bus.close()


async def test_a_stopped_worker_leaves_its_share_to_the_others_at_once(two_workers, monkeypatch):
    monkeypatch.setattr(local_bus, "CORES", 4)
    _first, mine, theirs = two_workers
    assert len(await mine.fetch(4, 1.0)) == 2  # two claimers: half the limit each
    await theirs.close()  # stopping cleanly, it forgets itself as a claimer
    assert len(await mine.fetch(2, 1.0)) == 2  # alone now: the whole limit is ours
