"""Three `mega serve` processes sharing one presence link (the real NATS, then the real Redis):
clients on different nodes see each other; SIGKILL clears a node within down_after_ms plus one
heartbeat; SIGTERM delivers its leaves before it exits; a restarted node converges."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from mega.testing import ws_connect
from mega.testing.services import free_port, require

CHANNEL = """
from mega.plugins.ws import Channel


class RoomChannel(Channel):
    topic = "room:{id}"

    async def on_join(self, ctx, payload):
        ctx.track(key=payload["user"], meta={"node": payload["node"]})
        return {}

    async def on_message(self, ctx, event, payload):
        await ctx.broadcast(ctx.topic, event, payload)
        return {}
"""

LINKS = {
    "nats": 'driver = "nats"\nservers = ["nats://127.0.0.1:4222"]',
    "redis": 'driver = "redis"\nurl = "redis://127.0.0.1:6379/0"',
}


def write_project(root: Path, link: str, *, heartbeat_ms: int, down_after_ms: int) -> None:
    files = {
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/channels/rooms.py": CHANNEL,
        "mega.toml": f"""
            [app]
            name = "nodes-{link}-{os.getpid()}-{time.monotonic_ns()}"
            plugins = ["http", "ws", "redis"]

            [plugins.ws]
            heartbeat_ms = {heartbeat_ms}
            down_after_ms = {down_after_ms}
            presence_tick_ms = 20

            [adapters.presence.default]
            {LINKS[link]}
        """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


class Nodes:
    """`mega serve` processes of one project, by port (the fixture ends what is left)."""

    def __init__(self, root: Path, serve) -> None:
        self.root = root
        self.serve = serve
        self.procs: dict[int, subprocess.Popen[str]] = {}

    def start(self, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
        self.procs[port], _url = self.serve(self.root, env, port=port)


@pytest.fixture
def nodes(tmp_path, mega_serve):
    def make(link: str, **timing: int) -> Nodes:
        require(link)
        write_project(tmp_path, link, **timing)
        return Nodes(tmp_path, mega_serve)

    return make


def users(presence):
    return sorted(presence)


@pytest.mark.parametrize("link", ["nats", "redis"])
async def test_three_nodes_see_each_other_and_a_killed_node_leaves(nodes, link):
    heartbeat_ms, down_after_ms = 250, 1_250
    group = nodes(link, heartbeat_ms=heartbeat_ms, down_after_ms=down_after_ms)
    ports = [free_port() for _ in range(3)]
    await asyncio.gather(*(asyncio.to_thread(group.start, port) for port in ports))
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    async with (
        ws_connect(urls[0]) as ada,
        ws_connect(urls[1]) as bob,
        ws_connect(urls[2]) as cy,
    ):
        for name, client, node in (("ada", ada, 0), ("bob", bob, 1), ("cy", cy, 2)):
            await client.join("room:1", {"user": name, "node": node})
        everyone = ["ada", "bob", "cy"]
        for client in (ada, bob, cy):
            presence = await client.wait_presence("room:1", lambda p: users(p) == everyone)
        assert presence["ada"]["metas"][0]["node"] == 0
        assert presence["cy"]["metas"][0]["node"] == 2
        # broadcasts cross nodes too
        await ada.push("room:1", "hello", {"from": "ada"})
        assert (await cy.receive(event="hello"))["payload"] == {"from": "ada"}

        group.procs[ports[2]].kill()  # SIGKILL: no leaves, no bye
        killed_at = time.monotonic()
        bound = (down_after_ms + heartbeat_ms) / 1000
        # allowance for a loaded 2-core CI machine on top of the protocol's bound
        for client in (ada, bob):
            await client.wait_presence(
                "room:1", lambda p: users(p) == ["ada", "bob"], timeout=bound + 3
            )
        cleared_in = time.monotonic() - killed_at
        # a node is declared down after down_after_ms of silence, never before it
        assert cleared_in >= down_after_ms / 1000 - heartbeat_ms / 1000


@pytest.mark.parametrize("link", ["nats", "redis"])
async def test_sigterm_sends_leaves_before_exit_and_a_restarted_node_converges(nodes, link):
    # down_after_ms is long: only the stopping node's own leaves can explain a quick leave
    group = nodes(link, heartbeat_ms=250, down_after_ms=30_000)
    ports = [free_port() for _ in range(2)]
    await asyncio.gather(*(asyncio.to_thread(group.start, port) for port in ports))
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    async with ws_connect(urls[0]) as ada:
        await ada.join("room:1", {"user": "ada", "node": 0})
        async with ws_connect(urls[1]) as bob:
            await bob.join("room:1", {"user": "bob", "node": 1})
            await ada.wait_presence("room:1", lambda p: users(p) == ["ada", "bob"])
            proc = group.procs[ports[1]]
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 30)
            assert proc.returncode in (0, -signal.SIGTERM)
            await ada.wait_presence("room:1", lambda p: users(p) == ["ada"], timeout=3)
            assert await bob.wait_closed() in (1001, 1012)
        # the node comes back (a new node id); its clients and ada converge
        await asyncio.to_thread(group.start, ports[1])
        async with ws_connect(urls[1]) as bob2:
            await bob2.join("room:1", {"user": "bob", "node": 1})
            for client in (ada, bob2):
                await client.wait_presence("room:1", lambda p: users(p) == ["ada", "bob"])
