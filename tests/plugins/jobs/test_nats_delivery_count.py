"""What the NATS server reports as a redelivery's count — the last-delivery rule depends on it.

nats-server before 2.10.14 (nats-io/nats-server#5305, fixed by "Multiple deliveries of messages
with delivery count going backwards") reports a redelivery as delivery 1 when, at the moment the
lease lapsed, the only pull requests waiting were dead (their client gone, or expired and not yet
swept): ``loopAndGatherMsgs`` pops the redelivery, finds no one to hand it to, and steps the
consumer's stream sequence back (``o.sseq--``), so the next pull sends the message again as new.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from mega.testing.services import require

FIXED_IN = (2, 10, 14)


def server_fixed(nc) -> bool:
    """Whether the server ``nc`` is connected to counts every redelivery (module docstring)."""
    version = nc.connected_server_version
    return (version.major, version.minor, version.patch) >= FIXED_IN


@pytest.mark.timeout(30)
async def test_a_dead_pull_request_at_lease_lapse_resets_the_count_before_2_10_14():
    nats = pytest.importorskip("nats")
    from nats.js import api

    host, port = require("nats")
    url = f"nats://{host}:{port}"
    stream, subject = f"TCOUNT{uuid.uuid4().hex[:8]}", f"tcount{uuid.uuid4().hex[:8]}.work"
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        api.StreamConfig(name=stream, subjects=[subject], retention=api.RetentionPolicy.WORK_QUEUE)
    )
    try:
        await js.add_consumer(
            stream,
            api.ConsumerConfig(
                durable_name="W", ack_policy=api.AckPolicy.EXPLICIT, ack_wait=1.0, max_deliver=5
            ),
        )
        sub = await js.pull_subscribe_bind("W", stream=stream)
        await js.publish(subject, b"{}")
        [first] = await sub.fetch(1, timeout=2)
        assert first.metadata.num_delivered == 1
        # a worker that pulls, then is killed: its request stays queued at the server
        dead = await nats.connect(url)
        inbox = dead.new_inbox()
        await dead.subscribe(inbox)
        request = json.dumps({"batch": 1, "expires": 10_000_000_000}).encode()
        await dead.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.W", request, reply=inbox)
        await dead.flush()
        await dead.close()
        await asyncio.sleep(1.5)  # the lease lapses while only the dead request waits
        [second] = await sub.fetch(1, timeout=3)
        await second.ack()
        expected = 2 if server_fixed(nc) else 1
        assert second.metadata.num_delivered == expected
    finally:
        await js.delete_stream(stream)
        await nc.close()
