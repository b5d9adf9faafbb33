"""The wire envelope: JSON text frames, one object each (documented in docs/plugins/ws.md).

Client to server::

    {"type": "join",  "topic": "room:1", "ref": "1", "payload": {...}}
    {"type": "event", "topic": "room:1", "ref": "2", "event": "say", "payload": {...}}
    {"type": "leave", "topic": "room:1", "ref": "3"}
    {"type": "ping",  "ref": "4"}

Server to client::

    {"type": "reply", "topic": "room:1", "ref": "1", "status": "ok", "payload": {...}}
    {"type": "reply", "topic": "room:1", "ref": "2", "status": "error",
     "payload": {"code": "ws.unknown_event", "message": "...", "details": {...}}}
    {"type": "event", "topic": "room:1", "event": "said", "payload": {...}}
    {"type": "presence_state", "topic": "room:1", "payload": {"<key>": {"metas": [...]}}}
    {"type": "presence_diff",  "topic": "room:1", "payload": {"joins": {...}, "leaves": {...}}}
    {"type": "presence_count", "topic": "room:1", "payload": {"count": 1234}}
    {"type": "error", "ref": null, "payload": {"code": "ws.malformed", ...}}   (frame-level)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

#: close codes the server uses (4000-4999 are the application's range in RFC 6455)
CLOSE_GOING_AWAY = 1001  # the node is shutting down
CLOSE_POLICY = 1008  # refused by policy
CLOSE_TOO_BIG = 1009  # a message above max_message_bytes
CLOSE_SLOW_CONSUMER = 4001  # the client read too slowly: its send buffer filled up

CLIENT_TYPES = frozenset({"join", "leave", "event", "ping"})
PRESENCE_MODES = ("full", "counts", "none")


class Inbound(NamedTuple):
    """One decoded client frame."""

    type: str
    topic: str | None
    ref: str | None
    event: str | None
    payload: Any


class MalformedFrame(ValueError):
    """A client frame that is not a valid envelope; ``code`` names why."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


def dumps(value: Any) -> str:
    """JSON text of a frame (orjson: ~5x the stdlib, and it emits str-safe UTF-8)."""
    return orjson.dumps(value).decode()


def decode(text: str | bytes) -> Inbound:
    """Parse and check one client frame; raises :class:`MalformedFrame` naming the problem."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedFrame("ws.malformed", f"the frame is not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise MalformedFrame(
            "ws.malformed", f"a frame must be a JSON object, got {type(frame).__name__}"
        )
    ref = frame.get("ref")
    if ref is not None and not isinstance(ref, str | int):
        raise MalformedFrame("ws.malformed", "ref must be a string or an integer")
    ref = None if ref is None else str(ref)
    kind = frame.get("type")
    if kind not in CLIENT_TYPES:
        raise MalformedFrame(
            "ws.unknown_type",
            f"unknown frame type {kind!r}; expected one of {', '.join(sorted(CLIENT_TYPES))}",
            ref,
        )
    topic = frame.get("topic")
    if kind != "ping" and (not isinstance(topic, str) or not topic or len(topic) > 255):
        raise MalformedFrame(
            "ws.malformed", f"a {kind} frame needs a topic: a string of 1 to 255 characters", ref
        )
    event = frame.get("event")
    if kind == "event" and (not isinstance(event, str) or not event or len(event) > 128):
        raise MalformedFrame(
            "ws.malformed",
            "an event frame needs an event name: a string of 1 to 128 characters",
            ref,
        )
    return Inbound(kind, topic, ref, event, frame.get("payload"))


def reply(topic: str | None, ref: str | None, payload: Any, *, status: str = "ok") -> str:
    return dumps(
        {"type": "reply", "topic": topic, "ref": ref, "status": status, "payload": payload}
    )


def error_reply(
    topic: str | None, ref: str | None, code: str, message: str, details: Any = None
) -> str:
    payload = {"code": code, "message": message, "details": details or {}}
    if topic is None and ref is None:
        return dumps({"type": "error", "ref": None, "payload": payload})
    return reply(topic, ref, payload, status="error")


def event(topic: str, name: str, payload: Any) -> str:
    return dumps({"type": "event", "topic": topic, "event": name, "payload": payload})


def presence_state(topic: str, state: dict[str, Any]) -> str:
    return dumps({"type": "presence_state", "topic": topic, "payload": state})


def presence_diff(topic: str, joins: dict[str, Any], leaves: dict[str, Any]) -> str:
    return dumps(
        {"type": "presence_diff", "topic": topic, "payload": {"joins": joins, "leaves": leaves}}
    )


def presence_count(topic: str, count: int) -> str:
    return dumps({"type": "presence_count", "topic": topic, "payload": {"count": count}})
