"""Presence: lists, diffs, counts and large rooms on one node; the merge rule across nodes that
share an in-process link (the multi-process proof over NATS and Redis is test_nodes.py)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from mega.testing import ws_connect


def keys(presence):
    return sorted(presence)


def tabs(presence, key):
    return sorted(m["tab"] for m in presence.get(key, {}).get("metas", []))


async def test_a_user_on_two_tabs_is_one_key_with_two_metas(ws_app):
    async with ws_app() as (app, url):
        async with ws_connect(url) as tab1, ws_connect(url) as tab2, ws_connect(url) as bob:
            await tab1.join("room:1", {"user": "ada", "tab": 1})
            await tab2.join("room:1", {"user": "ada", "tab": 2})
            await bob.join("room:1", {"user": "bob"})
            p = await tab1.wait_presence(
                "room:1", lambda p: tabs(p, "ada") == [1, 2] and "bob" in p
            )
            assert tabs(p, "bob") == [1]
            server = app.ctx().ws.presence.list("room:1")
            assert {k: len(v["metas"]) for k, v in server.items()} == {"ada": 2, "bob": 1}
            # an update is the old meta leaving and a new one joining
            await tab2.push("room:1", "retag", {"user": "ada", "tab": 7})
            await bob.wait_presence("room:1", lambda p: tabs(p, "ada") == [1, 7])
            await tab2.close()
            await bob.wait_presence("room:1", lambda p: tabs(p, "ada") == [1])
        # the last tab leaving takes the key away
        assert app.ctx().ws.presence.list("room:1") == {}


async def test_joiners_get_the_state_then_diffs_batched_per_tick(ws_app):
    async with ws_app(ws={"presence_tick_ms": 200}) as (_app, url):
        async with ws_connect(url) as watcher:
            await watcher.join("room:1", {"user": "w"})
            state = await watcher.receive(type="presence_state")
            assert keys(state["payload"]) == ["w"]
            clients = []
            async with contextlib.AsyncExitStack() as stack:
                for i in range(5):
                    client = await stack.enter_async_context(ws_connect(url))
                    await client.join("room:1", {"user": f"u{i}"})
                    clients.append(client)
                await watcher.wait_presence("room:1", lambda p: len(p) == 6)
                diffs = [f for f in watcher.frames if f["type"] == "presence_diff"]
                # five joins within one tick arrive as one or two frames, not five
                assert len(diffs) <= 2
                assert sorted(k for d in diffs for k in d["payload"]["joins"]) == sorted(
                    ["w", *(f"u{i}" for i in range(5))]
                )


async def test_counts_only_subscribers_and_large_rooms(ws_app):
    settings = {"large_room": 3, "large_room_tick_ms": 600, "presence_tick_ms": 20}
    async with ws_app(ws=settings) as (app, url):
        async with ws_connect(url) as counter, ws_connect(url) as full:
            await counter.join("room:1", {"presence": "counts"})
            assert (await counter.receive(type="presence_count"))["payload"] == {"count": 0}
            await full.join("room:1", {"user": "f"})
            async with contextlib.AsyncExitStack() as stack:
                for i in range(6):
                    client = await stack.enter_async_context(ws_connect(url))
                    await client.join("room:1", {"user": f"u{i}", "presence": "none"})
                await counter.wait_presence("room:1", lambda _: counter.counts.get("room:1") == 7)
                await full.wait_presence("room:1", lambda p: len(p) == 7)
            assert not [f for f in counter.frames if f["type"] == "presence_diff"]
            # above large_room the six joins were coalesced: fewer diff frames than joins
            diffs = [f for f in full.frames if f["type"] == "presence_diff"]
            assert len(diffs) < 6
        assert app.ctx().ws.presence.count("room:1") == 0


async def test_presence_refuses_bad_keys_and_metas(ws_app):
    from mega.plugins.ws import PresenceError

    async with ws_app() as (app, url), ws_connect(url) as client:
        await client.join("room:1")
        hub = app.extensions["ws"]
        conn = next(iter(hub.connections.values()))
        for key, meta, needle in [
            ("", {}, "non-empty string"),
            (7, {}, "non-empty string"),
            ("ada", [1], "dict"),
            ("ada", {"when": object()}, "JSON"),
        ]:
            with pytest.raises(PresenceError, match=needle):
                hub.presence.track(conn, "room:1", key, meta)
        with pytest.raises(PresenceError) as raised:
            hub.presence.update(conn, "room:1", "nobody", {})
        assert raised.value.code == "ws.presence_not_tracked"


# -- several nodes in one process, linked by the local presence driver --------------------------

FAST = {"heartbeat_ms": 100, "down_after_ms": 500, "presence_tick_ms": 10}
LINKED = {"presence": {"default": {"driver": "local", "name": "cluster-test"}}}


async def test_nodes_share_presence_and_broadcasts(ws_app):
    async with (
        ws_app(ws=FAST, adapters=LINKED) as (_a, url_a),
        ws_app(ws=FAST, adapters=LINKED) as (_b, url_b),
        ws_connect(url_a) as ada,
        ws_connect(url_b) as bob,
    ):
        await ada.join("room:1", {"user": "ada"})
        await bob.join("room:1", {"user": "bob"})
        for client in (ada, bob):
            await client.wait_presence("room:1", lambda p: keys(p) == ["ada", "bob"])
        await ada.push("room:1", "say", {"from": "a"})
        assert (await bob.receive(event="said"))["payload"] == {"from": "a"}
        await bob.leave("room:1")
        await ada.wait_presence("room:1", lambda p: keys(p) == ["ada"])


async def test_a_silent_node_is_declared_down_and_its_users_leave(ws_app):
    async with ws_app(ws=FAST, adapters=LINKED) as (app_a, url_a), ws_connect(url_a) as ada:
        await ada.join("room:1", {"user": "ada"})
        async with ws_app(ws=FAST, adapters=LINKED) as (app_b, url_b), ws_connect(url_b) as bob:
            await bob.join("room:1", {"user": "bob"})
            await ada.wait_presence("room:1", lambda p: keys(p) == ["ada", "bob"])
            # node b "crashes": it stops heartbeating and hears nothing, and sends no bye
            hub_b = app_b.extensions["ws"]
            hub_b.presence._beat.cancel()
            await hub_b.link.close()
            hub_b.link = None
            down = asyncio.Event()
            app_a.extensions["ws"].events.on("node_down", lambda e: down.set())
            loop = asyncio.get_running_loop()
            started = loop.time()
            await ada.wait_presence("room:1", lambda p: keys(p) == ["ada"], timeout=3)
            assert down.is_set()
            # declared down after down_after_ms of silence, not before
            assert loop.time() - started > 0.2


async def test_a_late_node_gets_the_state_and_a_lost_delta_is_repaired(ws_app):
    async with ws_app(ws=FAST, adapters=LINKED) as (app_a, url_a), ws_connect(url_a) as ada:
        await ada.join("room:1", {"user": "ada"})
        async with ws_app(ws=FAST, adapters=LINKED) as (app_b, url_b), ws_connect(url_b) as bob:
            # b started after ada joined: it learned her from a's state reply
            await bob.join("room:1", {"user": "bob"})
            await bob.wait_presence("room:1", lambda p: keys(p) == ["ada", "bob"])
            # lose one of a's deltas on its way to b: b sees the gap at the next heartbeat
            # and asks a for its whole state
            presence_b = app_b.extensions["ws"].presence
            original = presence_b.receive
            dropped = []

            def lossy(message):
                if message.get("t") == "d" and not dropped:
                    dropped.append(message)
                    return
                original(message)

            presence_b.receive = lossy
            async with ws_connect(url_a) as cy:
                await cy.join("room:1", {"user": "cy"})
                everyone = ["ada", "bob", "cy"]
                await bob.wait_presence("room:1", lambda p: keys(p) == everyone, timeout=3)
                assert dropped
                node_a = app_a.extensions["ws"].node_id
                assert presence_b.nodes[node_a].clock == app_a.extensions["ws"].presence.clock
        # a clean stop sends leaves and bye: no waiting for down_after_ms
        await ada.wait_presence("room:1", lambda p: keys(p) == ["ada"], timeout=0.4)
        assert app_a.extensions["ws"].presence.nodes == {}
