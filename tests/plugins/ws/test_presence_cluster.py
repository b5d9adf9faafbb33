"""Presence on a three-server NATS cluster: ws nodes linked through different servers see each
other's members, and a server lost under one of them — killed, or frozen without closing its
sockets — leaves presence converged within down_after_ms plus one heartbeat of the link moving
to another server (docs/plugins/ws.md, "Nodes: links")."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid

from mega.testing import ws_connect

HEARTBEAT_MS, DOWN_AFTER_MS = 250, 1_250
WS = {"heartbeat_ms": HEARTBEAT_MS, "down_after_ms": DOWN_AFTER_MS, "presence_tick_ms": 20}
#: the protocol's bound, plus an allowance for a loaded 2-core CI machine
BOUND_S = (DOWN_AFTER_MS + HEARTBEAT_MS) / 1000 + 3
#: a frozen server accepts TCP connections and then says nothing: each reconnect attempt that
#: picks it waits this long
CONNECT_TIMEOUT_S = 0.5


def keys(presence):
    return sorted(presence)


def port_of(app) -> int:
    return app.extensions["ws"].link.nc.connected_url.port


async def spread(apps, cluster) -> None:
    """Put each node on a server of its own (nats-py picks one of ``servers`` at random)."""
    ports = [server.port for server in cluster.servers]
    for app, port in zip(apps, ports, strict=True):
        nc = app.extensions["ws"].link.nc
        for _ in range(30):
            if nc.connected_url.port == port:
                break
            await nc.force_reconnect()
            for _ in range(250):  # 5 s
                if nc.is_connected:
                    break
                await asyncio.sleep(0.02)
    assert [port_of(app) for app in apps] == ports


@contextlib.asynccontextmanager
async def three_nodes(ws_app, cluster, ping_interval_s: float = 2.0):
    link = {
        "driver": "nats",
        "servers": cluster.urls,
        "reconnect_wait_s": 0.1,
        "ping_interval_s": ping_interval_s,
        "connect_timeout_s": CONNECT_TIMEOUT_S,
    }
    adapters = {"presence": {"default": link}}
    name = f"cluster-{uuid.uuid4().hex[:8]}"
    async with (
        ws_app(ws=WS, adapters=adapters, name=name) as (app_a, url_a),
        ws_app(ws=WS, adapters=adapters, name=name) as (app_b, url_b),
        ws_app(ws=WS, adapters=adapters, name=name) as (app_c, url_c),
    ):
        apps = [app_a, app_b, app_c]
        await spread(apps, cluster)
        downs: list[str] = []
        for app in apps:
            # (a clean stop says bye: only silence counts)
            app.extensions["ws"].events.on(
                "node_down", lambda e: downs.append(e.node) if e.reason == "down" else None
            )
        yield apps, [url_a, url_b, url_c], downs


async def test_nodes_on_different_servers_share_presence_across_a_killed_server(
    own_nats_cluster, ws_app
):
    cluster = own_nats_cluster
    async with three_nodes(ws_app, cluster) as (apps, urls, downs):
        victim = cluster.servers[0]  # node a's server
        async with (
            ws_connect(urls[0]) as ada,
            ws_connect(urls[1]) as bob,
            ws_connect(urls[2]) as cy,
        ):
            for user, client in (("ada", ada), ("bob", bob), ("cy", cy)):
                await client.join("room:1", {"user": user})
            for client in (ada, bob, cy):
                await client.wait_presence("room:1", lambda p: keys(p) == ["ada", "bob", "cy"])

            victim.kill()
            killed_at = time.monotonic()
            # changes on both sides of the lost server, made right away
            async with ws_connect(urls[0]) as dan:
                await dan.join("room:1", {"user": "dan"})
                await bob.leave("room:1")
                expected = ["ada", "cy", "dan"]
                for client in (ada, cy, dan):
                    await client.wait_presence(
                        "room:1", lambda p: keys(p) == expected, timeout=BOUND_S
                    )
                converged_in = time.monotonic() - killed_at
                assert port_of(apps[0]) != victim.port  # node a's link moved
                await ada.push("room:1", "say", {"from": "ada"})  # and publishes through it
                for client in (cy, dan):
                    assert (await client.receive(event="said"))["payload"] == {"from": "ada"}

                victim.start()  # back in the cluster: nothing changes for the nodes
                await cy.push("room:1", "say", {"from": "cy"})
                assert (await dan.receive(event="said"))["payload"] == {"from": "cy"}
                silent = list(downs)
    print(f"\npresence converged {converged_in:.2f} s after the kill; declared down: {silent}")


async def test_a_frozen_server_is_left_and_presence_converges(own_nats_cluster, ws_app):
    """SIGSTOP: the server keeps its sockets open and answers nothing, as a machine that lost
    power or network does. The link notices by its pings (three ping_interval_s) and moves —
    a reconnect attempt at the frozen server costs connect_timeout_s."""
    cluster = own_nats_cluster
    ping_s = 0.25
    async with three_nodes(ws_app, cluster, ping_interval_s=ping_s) as (apps, urls, downs):
        victim = cluster.servers[0]
        async with ws_connect(urls[0]) as ada, ws_connect(urls[1]) as bob:
            await ada.join("room:1", {"user": "ada"})
            await bob.join("room:1", {"user": "bob"})
            for client in (ada, bob):
                await client.wait_presence("room:1", lambda p: keys(p) == ["ada", "bob"])
            assert victim.proc is not None
            pid = victim.proc.pid
            os.kill(pid, signal.SIGSTOP)
            frozen_at = time.monotonic()
            try:
                async with ws_connect(urls[0]) as dan:
                    await dan.join("room:1", {"user": "dan"})
                    expected = ["ada", "bob", "dan"]
                    # the link leaves the frozen server after ~3 pings (and may try it once
                    # more), then the usual bound
                    bound = 3 * ping_s + CONNECT_TIMEOUT_S + BOUND_S
                    for client in (ada, bob, dan):
                        await client.wait_presence(
                            "room:1", lambda p: keys(p) == expected, timeout=bound
                        )
                    converged_in = time.monotonic() - frozen_at
                    assert port_of(apps[0]) != victim.port
                    silent = list(downs)
            finally:
                os.kill(pid, signal.SIGCONT)
    print(f"\npresence converged {converged_in:.2f} s after the freeze; declared down: {silent}")


async def test_a_node_stopping_while_its_link_looks_for_a_server_stops_at_once(own_nats, ws_app):
    link = {"driver": "nats", "servers": [own_nats.url], "reconnect_wait_s": 0.1}
    async with ws_app(ws=WS, adapters={"presence": {"default": link}}) as (app, _url):
        nc = app.extensions["ws"].link.nc
        await asyncio.to_thread(own_nats.stop)
        for _ in range(250):  # 5 s
            if nc.is_reconnecting:
                break
            await asyncio.sleep(0.02)
        assert nc.is_reconnecting
    assert nc.is_closed  # not left reconnecting for ever
