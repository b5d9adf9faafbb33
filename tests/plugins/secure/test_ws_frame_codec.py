"""The ws plugin's ``mega_ws_frame_codec`` extension point (which the secure plugin uses),
implemented by a plugin of its own: a codec that reverses frames, alone and nested inside the
secure plugin's (the first plugin in ``[app] plugins`` is outermost)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from mega.plugins.secure import SecureClient
from mega.testing import boot_app, serve_http, ws_connect

from .conftest import b64

REVERSER = """
from mega import MegaError

OPENED = []

class Reverse:
    async def decode(self, data):
        if isinstance(data, bytes):
            raise MegaError("reverse.binary", "text frames only", http_status=400)
        return data[::-1]

    def encode(self, text):
        return text[::-1]

@hookimpl
def mega_ws_frame_codec(app):
    def open_socket(scope):
        OPENED.append(scope["path"])
        if "no-reverse" in (scope.get("subprotocols") or ()):
            return None
        if "refuse" in (scope.get("subprotocols") or ()):
            raise MegaError("reverse.refused", "not this one", http_status=403)
        return Reverse()
    return open_socket
"""


def offer(extra: str) -> list[Subprotocol]:
    return [Subprotocol("mega.v1"), Subprotocol(extra)]


def config(plugins: list[str], secure: dict[str, Any] | None = None) -> dict[str, Any]:
    if secure is None:
        return {"app": {"plugins": plugins}}
    return {
        "app": {"plugins": plugins},
        "adapters": {"cache": {"default": {"driver": "memory"}}},
        "plugins": {"secure": secure},
    }


async def test_a_frame_codec_transforms_both_ways_and_may_decline_or_refuse(site):
    site.plugin("reverser", REVERSER, requires="('ws',)")
    async with boot_app(config(["http", "ws", "reverser"]), environ={}) as app:
        assert app.hooks.implementers("mega_ws_frame_codec") == ["reverser"]
        async with serve_http(app) as url, ws_connect(url) as client:
            await client.send_raw(json.dumps({"type": "ping", "ref": "7"})[::-1])
            raw = await client.ws.recv()
            assert json.loads(raw[::-1])["ref"] == "7"
            await client.send_raw(b"\x00")
            error = json.loads((await client.ws.recv())[::-1])
            assert error["payload"]["code"] == "reverse.binary"
        async with serve_http(app) as url:
            ws_url = url.replace("http", "ws") + "/ws"
            async with connect(ws_url, subprotocols=offer("no-reverse")) as ws:
                await ws.send('{"type": "ping", "ref": "8"}')
                assert json.loads(await ws.recv())["ref"] == "8"
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws_url, subprotocols=offer("refuse")):
                    pass
            assert refused.value.response.status_code == 403
            body = json.loads(refused.value.response.body)
            assert body["error"]["code"] == "reverse.refused"


async def test_codecs_nest_the_first_plugin_outermost(site):
    site.plugin("reverser", REVERSER, requires="('ws',)")
    key = bytes(range(32))
    secure = {"clients": {"acme": {"keys": {"acme-1": b64(key)}}}}
    plugins = ["memory", "http", "ws", "secure", "reverser"]
    async with boot_app(config(plugins, secure), environ={}) as app:
        assert app.hooks.implementers("mega_ws_frame_codec") == ["secure", "reverser"]
        async with (
            serve_http(app) as url,
            SecureClient(url, kid="acme-1", key=key) as client,
            client.websocket("/ws") as socket,
        ):
            await socket.send(json.dumps({"type": "ping", "ref": "9"})[::-1])  # sealed outside
            assert json.loads((await socket.recv())[::-1])["ref"] == "9"
