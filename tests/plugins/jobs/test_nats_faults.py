"""NATS-only traps and faults, against a nats-server of the test's own (never the shared one)."""

from __future__ import annotations

import asyncio
import time

import pytest

from mega.plugins.jobs import Consumption, Job, JobQueue, NatsBus, NatsOptions
from mega.plugins.jobs.transport import ConsumerConfig


class Quick(Job):
    subject = "faults.quick"
    concurrency = 4
    retries = 0

    async def run(self, payload, ctx):
        await asyncio.sleep(0.01)
        return payload


async def connected(url: str) -> NatsBus:
    bus = NatsBus(alias="default", options=NatsOptions(servers=[url], reconnect_wait_ms=200))
    await bus.connect()
    return bus


@pytest.mark.timeout(90)
async def test_server_restart_mid_stream_loses_nothing_and_consumption_resumes(own_nats, until):
    bus = await connected(own_nats.url)
    queue = JobQueue(bus, ack_wait_ms=2_000)
    done: set[int] = set()
    dead: list[int] = []
    queue.events.on("done", lambda e: done.add(e.seq))
    queue.events.on("dlq", lambda e: dead.append(e.seq))
    n = 300
    published = await queue.enqueue_many(Quick, range(n))
    assert len({p.seq for p in published}) == n
    consumption = await Consumption.start(queue, Quick, lambda d: d)
    try:
        await until(lambda: len(done) >= 40, within=20)
        own_nats.stop()
        await asyncio.sleep(1.0)
        assert len(done) < n  # the restart really happened mid-stream
        own_nats.start()
        await until(lambda: len(done) + len(dead) >= n, within=60)
    finally:
        await consumption.stop(deadline_s=2)
        await queue.close()
    assert done == {p.seq for p in published} and dead == []
    assert bus.generation == 1  # the consumer re-subscribed after the reconnect
    stats = await bus.stats(Quick.subject)
    assert (stats.depth, stats.dlq_depth) == (0, 0)
    await bus.close()


async def test_fetch_with_nothing_to_deliver_returns_an_empty_batch(own_nats):
    """nats-py raises a timeout for "no messages"; the driver turns it into []."""
    bus = await connected(own_nats.url)
    queue = JobQueue(bus)
    await queue.ensure(Quick.subject)
    consumer = await bus.consumer(ConsumerConfig(Quick.subject, 1, 30_000, 5))
    started = time.monotonic()
    assert await consumer.fetch(5, 0.3) == []
    assert time.monotonic() - started < 2
    await consumer.close()
    await bus.close()


async def test_a_delayed_nak_keeps_its_max_ack_pending_slot(own_nats):
    """JetStream counts a message nak'd with a delay against max_ack_pending until it is due:
    with concurrency 1 nothing else is delivered meanwhile (documented on Job.concurrency)."""
    bus = await connected(own_nats.url)
    queue = JobQueue(bus)
    await queue.ensure(Quick.subject)
    await queue.enqueue(Quick, 1)
    await queue.enqueue(Quick, 2)
    consumer = await bus.consumer(ConsumerConfig(Quick.subject, 1, 30_000, 5))
    [first] = await consumer.fetch(1, 1.0)
    await first.nak(1.5)
    assert await consumer.fetch(1, 0.5) == []  # the slot is still taken
    [again] = await consumer.fetch(1, 3.0)
    assert again.seq == first.seq and again.delivery_count == 2
    await again.ack()
    await consumer.close()
    await bus.close()


async def test_a_message_past_max_deliver_stays_in_the_work_stream(own_nats):
    """Why the queue routes a failing last delivery to the DLQ itself: JetStream never will."""
    bus = await connected(own_nats.url)
    queue = JobQueue(bus, max_deliver=1)
    await queue.ensure(Quick.subject)
    await queue.enqueue(Quick, 1)
    consumer = await bus.consumer(ConsumerConfig(Quick.subject, 1, 1_000, 1))
    [delivery] = await consumer.fetch(1, 1.0)
    await delivery.nak()
    assert await consumer.fetch(1, 1.5) == []  # never delivered again…
    assert (await bus.stats(Quick.subject)).depth == 1  # …and never removed
    await consumer.close()
    await bus.close()


@pytest.mark.timeout(90)
async def test_a_server_that_lost_its_store_gets_streams_and_consumer_back(
    own_nats, tmp_path, until
):
    """Restarted empty, the server knows neither stream nor consumer: the consume loop fails,
    says so (consume-loop), re-creates both and goes on; enqueue re-creates the stream too."""
    bus = await connected(own_nats.url)
    queue = JobQueue(bus)
    done: list[int] = []
    loop_failures: list[object] = []
    queue.events.on("done", lambda e: done.append(e.result))
    queue.events.on("fail", lambda e: loop_failures.append(e) if e.phase == "consume-loop" else 0)
    await queue.enqueue(Quick, 1)
    consumption = await Consumption.start(queue, Quick, lambda d: d)
    try:
        await until(lambda: done == [1])
        own_nats.stop()
        own_nats.store_dir = str(tmp_path / "fresh-store")
        own_nats.start()
        await until(lambda: bus.nc.is_connected, within=20)
        # the stream is gone: enqueue re-creates it. Right after a restart JetStream may not
        # answer yet; a producer retries (the msg_id keeps a retried publish from doubling)
        deadline = time.monotonic() + 20
        while True:
            try:
                await queue.enqueue(Quick, 2, msg_id="two")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        await until(lambda: done == [1, 2], within=30)
    finally:
        await consumption.stop(deadline_s=2)
        await queue.close()
    assert loop_failures
    await bus.close()


async def test_a_boot_against_a_server_that_is_down_fails_within_boot_connect_ms():
    from mega import MegaLifecycleError
    from mega.testing.services import free_port

    url = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    bus = NatsBus(
        alias="default",
        options=NatsOptions(servers=[url], reconnect_wait_ms=100, boot_connect_ms=700),
    )
    started = time.monotonic()
    with pytest.raises(MegaLifecycleError) as caught:  # before: retried for ever
        await bus.connect()
    assert caught.value.code == "bus.connect_failed"
    assert "boot_connect_ms (700)" in caught.value.message
    assert time.monotonic() - started < 10
