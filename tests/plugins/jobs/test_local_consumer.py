"""The local bus's consumer: a stopping worker interrupts its idle fetch, losing nothing."""

from __future__ import annotations

import asyncio

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
