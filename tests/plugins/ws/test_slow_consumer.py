"""A client that stops reading is cut off at its send buffer; the others keep receiving."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mega.testing import ws_connect

BUFFER = {"send_buffer_frames": 64, "send_buffer_bytes": 1024 * 1024}


async def test_a_client_that_never_reads_is_disconnected_with_4001(ws_app):
    async with ws_app(ws=BUFFER) as (app, url), ws_connect(url) as fast:
        hub = app.extensions["ws"]
        await fast.join("room:1", {"user": "fast"})
        # max_queue=1: the client library stops reading the socket after one unread message,
        # so TCP pushes back on the server exactly like a stalled browser tab
        slow = await connect(url.replace("http", "ws") + "/ws", max_queue=1, max_size=None)
        await slow.send(
            json.dumps({"type": "join", "topic": "room:1", "payload": {"user": "slow"}})
        )
        await fast.wait_presence("room:1", lambda p: "slow" in p)
        chunk = "x" * 32_768
        received = 0
        sent = 0
        while hub.stats.slow_consumers == 0 and sent < 2_000:
            await hub.broadcast("room:1", "data", {"i": sent, "chunk": chunk})
            sent += 1
            # the fast client keeps up, so its buffer stays small
            frame = await fast.receive(event="data")
            assert frame["payload"]["i"] == received
            received += 1
        assert hub.stats.slow_consumers == 1, f"no slow consumer after {sent} broadcasts"
        backlogs = [c.backlog for c in hub.connections.values()]
        assert all(frames <= 64 for frames, _ in backlogs)
        # the slow client's presence left; the fast one goes on receiving
        await fast.wait_presence("room:1", lambda p: sorted(p) == ["fast"])
        await hub.broadcast("room:1", "data", {"i": sent, "chunk": ""})
        assert (await fast.receive(event="data"))["payload"]["i"] == sent
        # reading again, the slow client gets what was already on its way, then the close code
        code = None
        try:
            async with asyncio.timeout(10):
                async for _message in slow:
                    pass
        except ConnectionClosed:
            pass
        code = slow.close_code
        assert code == 4001, (code, slow.close_reason)
        assert "slow consumer" in (slow.close_reason or "")


async def test_run_eagerly_finishes_now_or_hands_back_the_rest():
    from mega.plugins.ws.connection import run_eagerly

    steps = []

    async def quick():
        steps.append("quick")

    assert run_eagerly(quick()) is None
    assert steps == ["quick"]

    gate = asyncio.Event()

    async def blocked():
        steps.append("before")
        await gate.wait()
        await asyncio.sleep(0)  # a bare yield on the way
        steps.append("after")

    rest = run_eagerly(blocked())
    assert rest is not None and steps[-1] == "before"
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0.01)
    assert not task.done()
    gate.set()
    await task
    assert steps[-1] == "after"

    async def fails_later():
        await gate_two.wait()
        raise ConnectionResetError("gone")

    gate_two = asyncio.Event()
    rest = run_eagerly(fails_later())
    gate_two.set()
    with pytest.raises(ConnectionResetError, match="gone"):
        await rest

    async def fails_now():
        raise ValueError("now")

    with pytest.raises(ValueError, match="now"):
        run_eagerly(fails_now())
