"""Presence adapter drivers: how the nodes of one app talk to each other.

``[adapters.presence.default] driver = "nats" | "redis" | "local"``. A link is plain fire-and-
forget publish/subscribe of bytes on subjects (NATS core subjects, Redis pub/sub channels): the
presence protocol repairs lost messages itself (clocks, heartbeats, state requests), so nothing
needs to be durable.

``local`` connects the apps of one process (an embedded single node, or several apps in one
test); ``nats`` and ``redis`` connect processes and machines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from mega import get_logger, import_driver

Handler = Callable[[bytes], None]


class Link(Protocol):
    """What a presence driver implements (plus ``connect``/``close``)."""

    async def publish(self, subject: str, data: bytes) -> None: ...

    async def subscribe(self, subject: str, handler: Handler) -> None: ...


class LocalLinkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: apps of one process whose links share a name reach each other
    name: str = "default"


class LocalLink:
    """In-process publish/subscribe: delivery on the next loop turn, like a network would."""

    _networks: ClassVar[dict[str, dict[str, list[Handler]]]] = {}

    def __init__(self, alias: str = "default", options: LocalLinkOptions | None = None) -> None:
        self.alias = alias
        self.options = options or LocalLinkOptions()
        self._mine: list[tuple[str, Handler]] = []

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        network = self._networks.get(self.options.name, {})
        for subject, handler in self._mine:
            handlers = network.get(subject, [])
            if handler in handlers:
                handlers.remove(handler)
        self._mine.clear()

    async def publish(self, subject: str, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for handler in list(self._networks.get(self.options.name, {}).get(subject, ())):
            loop.call_soon(handler, data)

    async def subscribe(self, subject: str, handler: Handler) -> None:
        network = self._networks.setdefault(self.options.name, {})
        network.setdefault(subject, []).append(handler)
        self._mine.append((subject, handler))


class NatsLinkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: list[str] = Field(default_factory=lambda: ["nats://127.0.0.1:4222"])
    #: seconds between reconnect attempts; nats-py re-subscribes after a reconnect
    reconnect_wait_s: float = Field(default=0.5, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    #: seconds between pings to the server; two unanswered and the link moves to another
    #: server of ``servers`` (one that vanished without closing its sockets — a power cut, a
    #: frozen machine — is left in about three of these, not nats-py's default 6 minutes)
    ping_interval_s: float = Field(default=2.0, gt=0)
    name: str | None = None


class NatsLink:
    """NATS core publish/subscribe (nats-py); no JetStream: presence needs no persistence."""

    def __init__(self, alias: str = "default", options: NatsLinkOptions | None = None) -> None:
        self.alias = alias
        self.options = options or NatsLinkOptions()
        self.nc: Any = None
        self.log = get_logger(component="presence", driver="nats", alias=alias)

    async def connect(self) -> None:
        nats = import_driver("nats", extra="nats", what="the nats presence driver")
        o = self.options

        async def disconnected() -> None:
            self.log.warning("presence.link_disconnected")

        async def reconnected() -> None:
            self.log.info("presence.link_reconnected")

        async def error(exc: Exception) -> None:
            self.log.warning("presence.link_error", error=repr(exc))

        self.nc = await nats.connect(
            servers=o.servers,
            name=o.name or f"mega-presence-{self.alias}",
            reconnect_time_wait=o.reconnect_wait_s,
            connect_timeout=o.connect_timeout_s,
            ping_interval=o.ping_interval_s,
            max_outstanding_pings=2,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )

    async def close(self) -> None:
        nc, self.nc = self.nc, None
        if nc is None or nc.is_closed:
            return
        if nc.is_connected:
            await nc.drain()
            return
        # between servers there is nothing to drain to (nats-py's drain refuses while it
        # reconnects), and its close trips on what it buffered for the next server
        with contextlib.suppress(OSError):
            await nc.close()

    async def publish(self, subject: str, data: bytes) -> None:
        await self.nc.publish(subject, data)

    async def subscribe(self, subject: str, handler: Handler) -> None:
        async def deliver(msg: Any) -> None:
            handler(msg.data)

        await self.nc.subscribe(subject, cb=deliver)
