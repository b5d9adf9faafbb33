"""Fixtures of the ws plugin's tests: an app with channels, booted and served on a real port."""

from __future__ import annotations

import contextlib
import textwrap

import pytest

from mega.testing import boot_app, serve_http

CHANNELS = """
from mega.plugins.ws import Channel, ChannelError, UnknownEvent


class RoomChannel(Channel):
    topic = "room:{id}"

    async def authorize(self, ctx, topic, params):
        return params["id"] != "secret" or ctx.conn.identity == "admin"

    async def on_join(self, ctx, payload):
        payload = payload if isinstance(payload, dict) else {}
        if "user" in payload:
            ctx.track(key=payload["user"], meta={"tab": payload.get("tab", 1)})
        return {"id": ctx.params["id"], "identity": ctx.conn.identity}

    async def on_message(self, ctx, event, payload):
        if event == "say":
            await ctx.broadcast(ctx.topic, "said", payload)
            return {"ok": True}
        if event == "shout":
            await ctx.broadcast_from("shouted", payload)
            return None
        if event == "whisper":
            ctx.push("whispered", payload)
            ctx.reply({"early": True})
            return {"ignored": True}
        if event == "retag":
            ctx.presence.update(ctx.conn, ctx.topic, payload["user"], {"tab": payload["tab"]})
            return {}
        if event == "full":
            raise ChannelError("room.full", "the room is full", {"max": 2})
        if event == "crash":
            raise RuntimeError("boom")
        raise UnknownEvent(event, ["say", "shout", "whisper", "retag", "full", "crash"])


class LobbyChannel(Channel):
    topic = "lobby"
"""


@pytest.fixture
def ws_app(tmp_path, monkeypatch, forget_apps):
    """``async with ws_app(ws={...}) as (app, url)``: channels in apps/main, served by uvicorn."""
    monkeypatch.syspath_prepend(str(tmp_path))
    files = {
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/channels/__init__.py": "",
        "apps/main/channels/rooms.py": CHANNELS,
    }
    for rel, source in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))

    @contextlib.asynccontextmanager
    async def make(
        ws: dict | None = None,
        http: dict | None = None,
        adapters: dict | None = None,
        plugins: tuple[str, ...] = ("http", "ws"),
        name: str = "app",
    ):
        forget_apps()
        config = {
            "app": {"name": name, "plugins": list(plugins)},
            "plugins": {"http": http or {}, "ws": ws or {}},
            "adapters": adapters or {},
        }
        try:
            async with boot_app(config, root=tmp_path, environ={}) as app:
                async with serve_http(app) as url:
                    yield app, url
        finally:
            forget_apps()

    return make
