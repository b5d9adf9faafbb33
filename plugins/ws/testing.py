"""Test helpers of the ws plugin (re-exported by ``mega.testing``): a client speaking the ws
plugin's protocol to an app served on a real socket (``serve_http``).

::

    async with boot_app(config, root=root) as app, serve_http(app) as base_url:
        async with ws_connect(base_url) as client:
            await client.join("room:1", {"name": "ada"})
            await client.push("room:1", "say", {"text": "hi"})
            frame = await client.receive(event="said")
            await client.wait_presence("room:1", lambda p: "ada" in p)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from mega import MegaError

Presence = dict[str, dict[str, list[dict[str, Any]]]]


class WsReplyError(MegaError):
    """The server answered a frame with an error reply (``code`` is the server's code)."""


class WsClient:
    """A client of the ws plugin's envelope: replies by ref, frames in order, presence kept."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        #: every non-reply frame received, in order
        self.frames: list[dict[str, Any]] = []
        #: topic -> key -> {"metas": [...]}, built from presence_state and presence_diff
        self.presence: dict[str, Presence] = {}
        #: topic -> the last presence_count
        self.counts: dict[str, int] = {}
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._ref = 0
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in self.ws:
                frame = json.loads(text)
                if frame.get("type") == "reply" and frame.get("ref") in self._waiting:
                    future = self._waiting.pop(frame["ref"])
                    if not future.done():
                        future.set_result(frame)
                    continue
                self._apply_presence(frame)
                self.frames.append(frame)
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            received = getattr(self.ws, "close_code", None)
            self.close_code = received
            self.close_reason = getattr(self.ws, "close_reason", "") or ""
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"closed ({received})"))
            self._changed.set()

    def _apply_presence(self, frame: dict[str, Any]) -> None:
        kind, topic, payload = frame.get("type"), frame.get("topic"), frame.get("payload")
        if not isinstance(topic, str) or not isinstance(payload, dict):
            return
        if kind == "presence_state":
            self.presence[topic] = {k: {"metas": list(v["metas"])} for k, v in payload.items()}
        elif kind == "presence_diff":
            state = self.presence.setdefault(topic, {})
            for key, entry in payload["joins"].items():
                metas = state.setdefault(key, {"metas": []})["metas"]
                refs = {m["ref"] for m in metas}
                metas.extend(m for m in entry["metas"] if m["ref"] not in refs)
            for key, entry in payload["leaves"].items():
                if key in state:
                    gone = {m["ref"] for m in entry["metas"]}
                    state[key]["metas"] = [m for m in state[key]["metas"] if m["ref"] not in gone]
                    if not state[key]["metas"]:
                        del state[key]
        elif kind == "presence_count":
            self.counts[topic] = payload["count"]

    async def request(self, frame: dict[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
        """Send a frame with a fresh ref; return the whole reply frame (ok or error)."""
        self._ref += 1
        ref = str(self._ref)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        await self.ws.send(json.dumps({**frame, "ref": ref}))
        async with asyncio.timeout(timeout):
            return await future

    async def _ok(self, frame: dict[str, Any]) -> Any:
        reply = await self.request(frame)
        if reply.get("status") != "ok":
            error = reply.get("payload") or {}
            raise WsReplyError(
                str(error.get("code", "ws.error")),
                str(error.get("message", "")),
                error.get("details") or {},
            )
        return reply.get("payload")

    async def join(self, topic: str, payload: Any = None) -> Any:
        """Join ``topic``; returns the join reply's payload, raises WsReplyError on refusal."""
        return await self._ok({"type": "join", "topic": topic, "payload": payload or {}})

    async def leave(self, topic: str) -> Any:
        return await self._ok({"type": "leave", "topic": topic})

    async def push(self, topic: str, event: str, payload: Any = None) -> Any:
        """Send an event; returns the reply's payload, raises WsReplyError on an error reply."""
        return await self._ok(
            {"type": "event", "topic": topic, "event": event, "payload": payload or {}}
        )

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def receive(self, *, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The first received frame (oldest first, then waiting) whose fields equal ``match``;
        it is removed from ``frames``."""
        async with asyncio.timeout(timeout):
            while True:
                for i, frame in enumerate(self.frames):
                    if all(frame.get(k) == v for k, v in match.items()):
                        return self.frames.pop(i)
                if self._reader.done():
                    raise ConnectionError(f"closed ({self.close_code}) before a {match} frame")
                self._changed.clear()
                await self._changed.wait()

    async def wait_presence(
        self, topic: str, ready: Callable[[Presence], bool], *, timeout: float = 10.0
    ) -> Presence:
        """Wait until ``ready(presence of topic)`` holds; returns that presence."""
        async with asyncio.timeout(timeout):
            while True:
                current = self.presence.get(topic, {})
                if ready(current):
                    return current
                if self._reader.done():
                    raise ConnectionError(f"closed ({self.close_code}) waiting for presence")
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, *, timeout: float = 10.0) -> int | None:
        """Wait for the server to close the connection; returns the close code."""
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._reader)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


@asynccontextmanager
async def ws_connect(
    base_url: str,
    path: str = "/ws",
    *,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    compression: bool = False,
) -> AsyncIterator[WsClient]:
    """Connect to ``base_url`` + ``path`` (http:// is turned into ws://)."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + path
    # as the JS client does: the envelope's subprotocol, and a token as one (never in the URL)
    protocols = [Subprotocol("mega.v1")]
    if token is not None:
        protocols.append(Subprotocol(f"bearer.{token}"))
    ws = await connect(
        url,
        subprotocols=protocols,
        additional_headers=dict(headers or {}),
        compression="deflate" if compression else None,
        max_size=None,
    )
    client = WsClient(ws)
    try:
        yield client
    finally:
        await client.close()


__all__ = ["WsClient", "WsReplyError", "ws_connect"]
