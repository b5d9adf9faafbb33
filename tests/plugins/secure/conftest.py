"""Fixtures of the secure plugin's tests: an app with plain and secured routes and a channel,
booted from a config dict, reached in-process (``client``) or over a real socket (``url``)."""

from __future__ import annotations

import base64
import contextlib
import os
import textwrap
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from mega.testing import boot_app, http_client, serve_http

ROUTES = """
from pydantic import BaseModel

from mega.plugins.http import get, post, delete
from mega.plugins.secure import RequireSecure, peer_of


class Note(BaseModel):
    text: str


async def create_note(ctx, body: Note):
    peer = peer_of(ctx)
    ctx.status = 201
    return {"text": body.text, "kid": peer.kid if peer else None,
            "client": peer.client if peer else None}


async def show_note(ctx, note_id: int, verbose: bool = False):
    peer = peer_of(ctx)
    return {"id": note_id, "verbose": verbose, "sealed": peer is not None}


async def remove_note(ctx, note_id: int):
    return {"deleted": note_id}


async def echo(ctx, body: Note):
    return {"text": body.text, "sealed": peer_of(ctx) is not None}


async def pay(ctx, body: Note):
    return {"paid": body.text}


routes = [
    post("/api/secure/notes", create_note),
    get("/api/secure/notes/{note_id}", show_note),
    delete("/api/secure/notes/{note_id}", remove_note),
    post("/open/echo", echo),
    post("/open/pay", pay, middleware=[RequireSecure]),
]
"""

CHANNELS = """
from mega.plugins.ws import Channel, UnknownEvent


class RoomChannel(Channel):
    topic = "room:{id}"

    async def on_join(self, ctx, payload):
        return {"room": ctx.params["id"]}

    async def on_message(self, ctx, event, payload):
        if event == "say":
            await ctx.broadcast(ctx.topic, "said", payload)
            return {"said": payload.get("text")}
        raise UnknownEvent(event, ["say"])
"""


def new_key() -> bytes:
    return os.urandom(32)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass
class Keys:
    """The keys a test configures: client ``acme`` with ``acme-1`` (and ``acme-2`` when
    rotating), and a ticket key for agreement."""

    acme_1: bytes
    acme_2: bytes
    ticket: bytes


@pytest.fixture
def keys() -> Keys:
    return Keys(new_key(), new_key(), new_key())


def secure_config(
    keys: Keys,
    *,
    cache: dict[str, Any] | None = None,
    plugins: tuple[str, ...] = ("memory", "http", "ws", "secure"),
    rotate: bool = False,
    **secure: Any,
) -> dict[str, Any]:
    acme = {"acme-1": b64(keys.acme_1)}
    if rotate:
        acme["acme-2"] = b64(keys.acme_2)
    table: dict[str, Any] = {
        "paths": ["/api/secure"],
        "clients": {"acme": {"keys": acme}},
        "agreement": {"enabled": True, "current": "t1", "ticket_keys": {"t1": b64(keys.ticket)}},
    }
    table.update(secure)
    return {
        "app": {"name": "securetest", "plugins": list(plugins)},
        "adapters": {"cache": {"default": cache or {"driver": "memory"}}},
        "plugins": {"secure": table},
    }


def redis_cache(prefix: str) -> dict[str, Any]:
    from mega.testing.services import require

    host, port = require("redis")
    return {"driver": "redis", "url": f"redis://{host}:{port}/0", "key_prefix": prefix}


@pytest.fixture
def redis_prefix() -> Any:
    """A key prefix of this test's own on the shared Redis; its keys are deleted after."""
    prefix = f"mega-test-secure-{uuid.uuid4().hex[:12]}:"
    yield prefix
    from mega.testing.services import SERVICES, reachable

    host, port = SERVICES["redis"]
    if reachable(host, port):
        import redis

        client = redis.Redis(host=host, port=port)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def secure_app(tmp_path, monkeypatch, forget_apps):
    """``async with secure_app(config, serve=False) as (app, client_or_url)``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    files = {
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/routes/__init__.py": "",
        "apps/main/routes/notes.py": ROUTES,
        "apps/main/channels/__init__.py": "",
        "apps/main/channels/rooms.py": CHANNELS,
    }
    for rel, source in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))

    @contextlib.asynccontextmanager
    async def make(config: dict[str, Any], *, serve: bool = False):
        forget_apps()
        try:
            async with boot_app(config, root=tmp_path, environ={}) as app:
                if serve:
                    async with serve_http(app) as url:
                        yield app, url
                else:
                    async with http_client(app) as client:
                        yield app, client
        finally:
            forget_apps()

    return make
