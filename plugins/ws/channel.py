"""Channels: what users write in ``apps/<app>/channels/*.py`` (``mega g channel <Name>``).

A channel class owns a topic pattern (``"room:{id}"``); a client joining a matching topic gets
an instance of it for as long as it stays joined::

    class RoomChannel(Channel):
        topic = "room:{id}"

        async def authorize(self, ctx, topic, params):
            return ctx.conn.identity is not None

        async def on_join(self, ctx, payload):
            ctx.track(key=str(ctx.conn.identity), meta={"name": payload.get("name")})
            return {"room": ctx.params["id"]}

        async def on_message(self, ctx, event, payload):
            if event == "say":
                await ctx.broadcast(ctx.topic, "said", {"text": payload["text"]})
                return {"sent": True}
            raise UnknownEvent(event)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from mega import Ctx, MegaConfigError, MegaError

if TYPE_CHECKING:
    from .connection import Connection
    from .hub import Hub
    from .presence import Presence

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class ChannelError(MegaError):
    """Raise in a channel callback with your own code (``room.full``, say): the client gets an
    error reply with that code and message, and the connection stays up."""


class UnknownEvent(ChannelError):
    """``on_message`` got an event the channel does not handle."""

    def __init__(self, event: str, known: list[str] | None = None) -> None:
        hint = f"; this channel handles: {', '.join(known)}" if known else ""
        super().__init__("ws.unknown_event", f"unknown event {event!r}{hint}", {"event": event})


def compile_topic(pattern: str, owner: str) -> re.Pattern[str]:
    """``"room:{id}"`` -> a regex with a named group per ``{param}`` (a param spans no ':')."""
    if not isinstance(pattern, str) or not pattern:
        raise MegaConfigError(
            "ws.invalid_channel",
            f"channel {owner}: `topic` must be a non-empty pattern such as 'room:{{id}}'",
            {"channel": owner},
        )
    parts, last = [], 0
    for match in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^:]+)")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    try:
        return re.compile("".join(parts))
    except re.error as exc:  # a param named twice
        raise MegaConfigError(
            "ws.invalid_channel",
            f"channel {owner}: topic pattern {pattern!r} is invalid: {exc}",
            {"channel": owner, "topic": pattern},
        ) from None


class Channel:
    """Base class of a channel. Override what you need; every callback is async.

    One instance per joined (connection, topic): instance attributes are per-join state.
    """

    #: the topic pattern this channel serves: ``"lobby"``, ``"room:{id}"``
    topic: ClassVar[str] = ""

    async def authorize(self, ctx: ChannelCtx, topic: str, params: dict[str, str]) -> bool:
        """May this connection join ``topic``? False refuses the join (``ws.unauthorized``)."""
        return True

    async def on_join(self, ctx: ChannelCtx, payload: Any) -> Any:
        """After ``authorize``; what it returns is the join reply's payload."""
        return {}

    async def on_message(self, ctx: ChannelCtx, event: str, payload: Any) -> Any:
        """A client event on the topic; what it returns is the reply's payload."""
        raise UnknownEvent(event)

    async def on_leave(self, ctx: ChannelCtx, reason: str) -> None:
        """The client left (``"leave"``), disconnected (``"disconnect"``) or the node stops
        (``"shutdown"``). Its presences on the topic are untracked after this returns."""


class ChannelCtx(Ctx):
    """``ctx`` in channel callbacks: the kernel's Ctx plus the connection, topic and fan-out."""

    __slots__ = ("_ref", "_replied", "conn", "hub", "params", "topic")

    def __init__(
        self,
        hub: Hub,
        conn: Connection,
        topic: str,
        params: dict[str, str],
        ref: str | None = None,
    ) -> None:
        super().__init__(hub.app, conn.log)
        self.hub = hub
        self.conn = conn
        self.topic = topic
        self.params = params
        self._ref = ref
        self._replied = False

    @property
    def presence(self) -> Presence:
        """The node's presence tracker: ``track``, ``update``, ``untrack``, ``list``."""
        return self.hub.presence

    def track(self, key: str, meta: dict[str, Any] | None = None) -> None:
        """Track this connection on this topic under ``key`` (a user id, say)."""
        self.hub.presence.track(self.conn, self.topic, key, meta or {})

    async def broadcast(self, topic: str, event: str, payload: Any) -> None:
        """Send an event to every connection joined to ``topic``, on every node."""
        await self.hub.broadcast(topic, event, payload)

    async def broadcast_from(self, event: str, payload: Any) -> None:
        """Like ``broadcast`` on this topic, but not to this connection."""
        await self.hub.broadcast(self.topic, event, payload, exclude=self.conn)

    def push(self, event: str, payload: Any) -> None:
        """Send an event to this connection only, on this topic."""
        from . import envelope

        self.conn.send_frame(envelope.event(self.topic, event, payload))

    def reply(self, payload: Any, *, status: str = "ok") -> None:
        """Answer the message being handled now (its return value then sends nothing)."""
        from . import envelope

        if self._replied or self._ref is None:
            return
        self._replied = True
        self.conn.send_frame(envelope.reply(self.topic, self._ref, payload, status=status))
