"""``Hub``: one node's WebSocket state (``app.extensions["ws"]``, ``ctx.ws``).

It owns the node's connections and topic subscriptions, fans broadcasts out locally and to the
other nodes (each broadcast is serialised once, whatever the number of receivers), routes
topics to channels, and runs presence. Node-to-node messages go through the presence adapter in
one ordered outbox, so a node's deltas leave in the order they were made.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from mega import Events, MegaConfigError, MegaNotFoundError, get_logger

from . import envelope
from .links import LocalLink
from .presence import Presence

if TYPE_CHECKING:
    from mega import App

    from .channel import Channel
    from .connection import Connection, Joined
    from .hooks import OpenCodec
    from .settings import WsSettings

EVENTS = (
    "connect",
    "disconnect",
    "join",
    "leave",
    "rejected",
    "slow_consumer",
    "node_up",
    "node_down",
)


class Stats:
    """Counters read by the metrics plugin at scrape time (plain ints: free on the hot path)."""

    __slots__ = (
        "broadcasts",
        "connects",
        "disconnects",
        "frames_out",
        "joins",
        "leaves",
        "messages_in",
        "rejected",
        "slow_consumers",
    )
    broadcasts: int
    connects: int
    disconnects: int
    frames_out: int
    joins: int
    leaves: int
    messages_in: int
    rejected: int
    slow_consumers: int

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Hub:
    """The WebSocket side of one app process."""

    def __init__(self, app: App, settings: WsSettings, channels: list[type[Channel]]) -> None:
        from .channel import compile_topic

        self.app = app
        self.settings = settings
        self.node_id = uuid.uuid4().hex[:12]
        self.log = get_logger(component="ws", node=self.node_id)
        self.events = Events("ws", EVENTS)
        self.stats = Stats()
        self.connections: dict[str, Connection] = {}
        self.subscribers: dict[str, dict[Connection, Joined]] = {}
        self.routes: list[tuple[re.Pattern[str], type[Channel]]] = []
        seen: dict[str, str] = {}
        for cls in channels:
            owner = f"{cls.__module__}.{cls.__qualname__}"
            if cls.topic in seen:
                raise MegaConfigError(
                    "ws.duplicate_channel",
                    f"topic pattern {cls.topic!r} is served by both {seen[cls.topic]} and {owner}",
                    {"topic": cls.topic, "channels": [seen[cls.topic], owner]},
                )
            seen[cls.topic] = owner
            self.routes.append((compile_topic(cls.topic, owner), cls))
        self.presence = Presence(self)
        self.closing = False
        #: ``[plugins.ws] authenticate``, loaded at boot (None: the built-in)
        self.authenticate: Any = None
        #: the mega_ws_frame_codec openers, collected at boot (none: frames pay nothing)
        self.codecs: tuple[OpenCodec, ...] = ()
        self.link: Any = None
        prefix = f"mega.ws.{re.sub(r'[^A-Za-z0-9_-]', '_', app.config.app.name)}"
        self.subject_all = prefix
        self.subject_node = f"{prefix}.node.{self.node_id}"
        self._prefix = prefix
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._conn_seq = 0

    # -- routing ------------------------------------------------------------------------------

    def route(self, topic: str) -> tuple[type[Channel], dict[str, str]] | None:
        """The channel serving ``topic`` and its params, or None."""
        for pattern, cls in self.routes:
            match = pattern.fullmatch(topic)
            if match is not None:
                return cls, match.groupdict()
        return None

    def next_conn_id(self) -> str:
        self._conn_seq += 1
        return f"{self.node_id}.c{self._conn_seq}"

    # -- fan-out ------------------------------------------------------------------------------

    async def broadcast(
        self, topic: str, event: str, payload: Any, *, exclude: Connection | None = None
    ) -> int:
        """Send ``event`` to every connection joined to ``topic`` on every node.

        The frame is serialised once. Returns how many local connections it was queued for.
        """
        frame = envelope.event(topic, event, payload)
        self.stats.broadcasts += 1
        self.send_to_cluster(
            orjson.dumps({"t": "bc", "n": self.node_id, "topic": topic, "f": frame})
        )
        return self.fan_out(topic, frame, exclude)

    def fan_out(self, topic: str, frame: str, exclude: Connection | None = None) -> int:
        subscribers = self.subscribers.get(topic)
        if not subscribers:
            return 0
        sent = 0
        for conn in list(subscribers):
            if conn is not exclude:
                conn.send_frame(frame)
                sent += 1
        return sent

    def subscribe(self, topic: str, conn: Connection, joined: Joined) -> None:
        self.subscribers.setdefault(topic, {})[conn] = joined

    def unsubscribe(self, topic: str, conn: Connection) -> None:
        subscribers = self.subscribers.get(topic)
        if subscribers is not None:
            subscribers.pop(conn, None)
            if not subscribers:
                del self.subscribers[topic]

    # -- the cluster --------------------------------------------------------------------------

    def send_to_cluster(self, data: bytes, *, to: str | None = None) -> None:
        """Publish to every node (``to=None``) or one node, in order, without waiting."""
        if self.link is None:
            return
        subject = self.subject_all if to is None else f"{self._prefix}.node.{to}"
        self._outbox.put_nowait((subject, data))

    async def _send_loop(self) -> None:
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            try:
                await self.link.publish(*item)
            except Exception as exc:  # presence repairs lost messages; log and go on
                self.log.warning("ws.cluster_publish_failed", error=repr(exc))

    def _on_cluster(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            if message.get("t") == "bc":
                if message.get("n") != self.node_id:
                    self.fan_out(message["topic"], message["f"])
            else:
                self.presence.receive(message)
        except Exception as exc:  # a bad message from another node must not stop this one
            self.log.warning("ws.cluster_message_invalid", error=repr(exc))

    def node_up(self, node: str) -> None:
        self.log.info("ws.node_up", peer=node)
        self.events.emit("node_up", node=node)

    def node_down(self, node: str, reason: str, keys: int) -> None:
        log = self.log.warning if reason == "down" else self.log.info
        log("ws.node_down", peer=node, reason=reason, presences=keys)
        self.events.emit("node_down", node=node, reason=reason)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the cluster: subscribe, say hello, start heartbeating."""
        try:
            self.link = self.app.adapters.get("presence", self.settings.presence)
        except MegaNotFoundError:
            if self.settings.presence != "default":
                raise
            self.link = LocalLink(alias=f"node-{self.node_id}")  # one node: nobody to reach
        await self.link.subscribe(self.subject_all, self._on_cluster)
        await self.link.subscribe(self.subject_node, self._on_cluster)
        self._sender = asyncio.ensure_future(self._send_loop())
        self.presence.start()
        self.log.debug("ws.started", path=self.settings.path, nodes_link=type(self.link).__name__)

    async def close_clients(self, *, reason: str = "shutdown") -> None:
        """Stop accepting and close every connection (1001 "going away": a client reconnects,
        to another node if there is one). Called as soon as the server is told to stop
        (``mega_http_draining``), before it drops the sockets, and again by ``stop``."""
        from .endpoint import disconnect

        self.closing = True
        conns = list(self.connections.values())
        for conn in conns:
            await disconnect(self, conn, reason)
        await asyncio.gather(
            *(c.close(envelope.CLOSE_GOING_AWAY, "server shutting down", wait_s=1.0) for c in conns)
        )

    async def stop(self, *, reason: str = "shutdown") -> None:
        """Stop accepting, close every connection (1001), send leaves and ``bye``."""
        await self.close_clients(reason=reason)
        await self.presence.stop()
        if self._sender is not None:
            self._outbox.put_nowait(None)
            try:
                async with asyncio.timeout(2.0):
                    await self._sender
            except TimeoutError:
                self.log.warning("ws.cluster_flush_timeout", pending=self._outbox.qsize())
                self._sender.cancel()
            self._sender = None
        if isinstance(self.link, LocalLink) and self.link.alias.startswith("node-"):
            await self.link.close()
