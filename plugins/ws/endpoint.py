"""The WebSocket endpoint: upgrade checks, the read loop, join/leave/event handling.

Upgrade refusals are HTTP responses with a JSON error body (the ASGI ``websocket.http.response``
extension; servers without it get close code 1008): 403 ``ws.origin_not_allowed``, 401
``ws.unauthorized``, 503 ``ws.shutting_down``. After the upgrade, every bad frame gets an error
reply and the connection stays up; only an oversized message (1009) or a full send buffer (4001)
ends it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from mega import MegaConfigError, MegaError
from mega.plugins.http import HttpSettings

from . import envelope
from .channel import ChannelCtx
from .codec import open_codec
from .connection import Connection, Joined, RateLimit

if TYPE_CHECKING:
    from mega import App

    from .hub import Hub

Authenticate = Callable[[HTTPConnection], Awaitable[Any]]
TOKEN_SALT = "mega.ws.token"


class Unauthorized(MegaError):
    http_status = 401


def _serializer(app: App) -> URLSafeTimedSerializer:
    http = app.plugin_config("http")
    assert isinstance(http, HttpSettings)
    secret = http.session.secret_key
    if not secret:
        raise MegaConfigError(
            "ws.no_secret",
            "WebSocket tokens are signed with [plugins.http.session] secret_key, which is not "
            "set; set it (env MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY)",
        )
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT)


def issue_token(app: App, identity: Any) -> str:
    """A signed bearer token for ``identity`` (JSON-able), valid ``[plugins.ws] token_ttl_s``.

    Give it to a client (``new MegaSocket(url, {token})``) that cannot send the session cookie.
    """
    return _serializer(app).dumps({"id": identity})


def load_authenticate(spec: str | None) -> Authenticate | None:
    if spec is None:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        fn: Authenticate = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise MegaConfigError(
            "ws.invalid_authenticate",
            f"[plugins.ws] authenticate = {spec!r} cannot be imported ({exc}); use "
            "'package.module:function'",
            {"authenticate": spec},
        ) from exc
    if not callable(fn):
        raise MegaConfigError(
            "ws.invalid_authenticate",
            f"[plugins.ws] authenticate = {spec!r} is not callable",
            {"authenticate": spec},
        )
    return fn


#: the subprotocol a client offers to speak mega's envelope (the JS client always does)
SUBPROTOCOL = "mega.v1"
#: a token offered as a subprotocol: browsers cannot set headers on a WebSocket, and a token in
#: the URL ends up in access logs and proxies' logs
TOKEN_PROTOCOL_PREFIX = "bearer."


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    for protocol in conn.scope.get("subprotocols") or ():
        if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
            return str(protocol[len(TOKEN_PROTOCOL_PREFIX) :])
    values = parse_qs(conn.scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


async def identify(hub: Hub, conn: HTTPConnection) -> Any:
    """Who connects: the custom authenticate, else the session user, else a bearer token."""
    if hub.authenticate is not None:
        return await hub.authenticate(conn)
    session = conn.scope.get("session")
    if session is not None and session.get(hub.settings.session_key) is not None:
        return session.get(hub.settings.session_key)
    token = _bearer(conn)
    if token is None:
        return None
    try:
        data = _serializer(hub.app).loads(token, max_age=hub.settings.token_ttl_s)
    except SignatureExpired:
        raise Unauthorized("ws.token_expired", "the bearer token expired; get a new one") from None
    except BadSignature:
        raise Unauthorized("ws.token_invalid", "the bearer token is not valid") from None
    return data.get("id") if isinstance(data, dict) else None


def origin_allowed(conn: HTTPConnection, allowed: tuple[str, ...]) -> bool:
    origin = conn.headers.get("origin")
    if origin is None or "*" in allowed:
        return True  # no Origin: not a browser, which cannot be made to omit it
    if allowed:
        return origin.rstrip("/") in {a.rstrip("/") for a in allowed}
    return urlsplit(origin).netloc == conn.headers.get("host", "")


async def _refuse(scope: Any, send: Any, status: int, code: str, message: str, hub: Hub) -> None:
    hub.stats.rejected += 1
    hub.events.emit("rejected", code=code, status=status)
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": envelope.CLOSE_POLICY, "reason": code})
        return
    body = envelope.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


async def serve_socket(hub: Hub, scope: Any, receive: Any, send: Any) -> None:
    """One WebSocket, from upgrade to close."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    settings = hub.settings
    http_conn = HTTPConnection(scope)
    if hub.closing:
        await _refuse(scope, send, 503, "ws.shutting_down", "this node is shutting down", hub)
        return
    if not origin_allowed(http_conn, settings.allowed_origins):
        await _refuse(
            scope,
            send,
            403,
            "ws.origin_not_allowed",
            f"origin {http_conn.headers.get('origin')!r} may not connect; allowed: "
            f"{', '.join(settings.allowed_origins) or 'this host only'}",
            hub,
        )
        return
    codec = None
    if hub.codecs:  # mega_ws_frame_codec: opened before authentication, which may use it
        try:
            codec = open_codec(hub.codecs, scope)
        except MegaError as exc:
            await _refuse(scope, send, exc.http_status, exc.code, exc.message, hub)
            return
    try:
        identity = await identify(hub, http_conn)
    except MegaError as exc:
        await _refuse(scope, send, 401, exc.code, exc.message, hub)
        return
    if identity is None and settings.require_auth:
        await _refuse(
            scope,
            send,
            401,
            "ws.unauthorized",
            "sign in first: a session, or a bearer token (Authorization header or ?token=)",
            hub,
        )
        return
    accept: dict[str, Any] = {"type": "websocket.accept"}
    if SUBPROTOCOL in (scope.get("subprotocols") or ()):
        accept["subprotocol"] = SUBPROTOCOL  # a browser that offered protocols needs one back
    await send(accept)
    stop: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def overflow(_conn: Connection) -> None:
        if not stop.done():
            stop.set_result("slow_consumer")

    conn_id = hub.next_conn_id()
    conn = Connection(
        conn_id,
        send,
        identity=identity,
        log=hub.log.bind(conn=conn_id),
        max_frames=settings.send_buffer_frames,
        max_bytes=settings.send_buffer_bytes,
        rate=RateLimit(settings.rate_limit_per_s, settings.rate_limit_burst),
        stats=hub.stats,
        on_overflow=overflow,
        encode=None if codec is None else codec.encode,
    )
    hub.connections[conn_id] = conn
    hub.stats.connects += 1
    if hub.events.listening["connect"]:
        hub.events.emit("connect", conn=conn_id, identity=identity)
    reader = asyncio.ensure_future(
        _read(hub, conn, receive, None if codec is None else codec.decode)
    )
    try:
        await asyncio.wait((reader, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not reader.done():
            reader.cancel()
        reason = stop.result() if stop.done() else _reason(reader, conn)
        await disconnect(hub, conn, reason)
        if reason == "slow_consumer":
            hub.stats.slow_consumers += 1
            hub.events.emit("slow_consumer", conn=conn_id)
            await conn.close(
                envelope.CLOSE_SLOW_CONSUMER,
                f"slow consumer: more than {settings.send_buffer_frames} frames or "
                f"{settings.send_buffer_bytes} bytes waiting",
            )


def _reason(reader: asyncio.Task[str], conn: Connection) -> str:
    if reader.cancelled():
        return "disconnect"
    exc = reader.exception()
    if exc is not None:  # frames' own failures are replies: this is a bug, say so
        conn.log.error("ws.reader_failed", error=repr(exc))
        return "error"
    return reader.result()


async def _read(
    hub: Hub,
    conn: Connection,
    receive: Any,
    decode: Callable[[str | bytes], Awaitable[str | bytes]] | None = None,
) -> str:
    limit = hub.settings.max_message_bytes
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return "disconnect"
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        # UTF-8 takes at most 4 bytes a character: encode only text that might be too big
        size = len(data.encode()) if isinstance(data, str) and len(data) * 4 > limit else len(data)
        if size > limit:
            reason = f"message of {size} bytes is above max_message_bytes {limit}"
            await conn.close(envelope.CLOSE_TOO_BIG, reason)
            return "too_big"
        hub.stats.messages_in += 1
        if decode is not None:
            try:
                data = await decode(data)
            except MegaError as exc:
                conn.error(None, None, exc.code, exc.message, exc.to_dict()["details"])
                continue
        try:
            frame = envelope.decode(data)
        except envelope.MalformedFrame as exc:
            conn.error(None, exc.ref, exc.code, str(exc))
            continue
        if not conn.rate.allow():
            conn.error(
                frame.topic,
                frame.ref,
                "ws.rate_limited",
                f"more than {hub.settings.rate_limit_per_s:g} messages a second; this one "
                "was dropped",
            )
            continue
        await handle(hub, conn, frame)


async def handle(hub: Hub, conn: Connection, frame: envelope.Inbound) -> None:
    """Act on one decoded client frame; every failure becomes an error reply."""
    topic, ref = frame.topic, frame.ref
    try:
        if frame.type == "ping":
            conn.send_frame(envelope.reply(None, ref, {}))
        elif frame.type == "join":
            await _join(hub, conn, frame)
        elif frame.type == "leave":
            assert topic is not None
            if topic not in conn.joined:
                raise MegaError("ws.not_joined", f"not joined to {topic!r}", {"topic": topic})
            await leave_topic(hub, conn, topic, "leave")
            conn.send_frame(envelope.reply(topic, ref, {}))
        else:
            await _event(conn, frame)
    except MegaError as exc:
        conn.error(topic, ref, exc.code, exc.message, exc.to_dict()["details"])
    except Exception as exc:
        conn.log.exception("ws.handler_failed", topic=topic, frame_type=frame.type)
        conn.error(
            topic,
            ref,
            "ws.handler_failed",
            f"the channel failed to handle this {frame.type}: {type(exc).__name__}",
        )


async def _join(hub: Hub, conn: Connection, frame: envelope.Inbound) -> None:
    topic, ref, payload = frame.topic, frame.ref, frame.payload
    assert topic is not None
    if topic in conn.joined:
        raise MegaError("ws.already_joined", f"already joined to {topic!r}", {"topic": topic})
    if len(conn.joined) >= hub.settings.max_topics:
        raise MegaError(
            "ws.too_many_topics",
            f"a connection may join at most {hub.settings.max_topics} topics",
            {"max_topics": hub.settings.max_topics},
        )
    routed = hub.route(topic)
    if routed is None:
        raise MegaError(
            "ws.unknown_topic",
            f"no channel serves topic {topic!r}; served patterns: "
            f"{', '.join(cls.topic for _, cls in hub.routes) or '(none)'}",
            {"topic": topic},
        )
    mode = payload.get("presence", "full") if isinstance(payload, dict) else "full"
    if mode not in envelope.PRESENCE_MODES:
        raise MegaError(
            "ws.malformed",
            f"join payload 'presence' must be one of {', '.join(envelope.PRESENCE_MODES)}, "
            f"got {mode!r}",
        )
    cls, params = routed
    channel = cls()
    ctx = ChannelCtx(hub, conn, topic, params, ref)
    if not await channel.authorize(ctx, topic, params):
        raise MegaError("ws.unauthorized", f"not allowed to join {topic!r}", {"topic": topic})
    try:
        result = await channel.on_join(ctx, payload)
        reply = envelope.reply(topic, ref, {} if result is None else result)
    except BaseException:
        hub.presence.untrack(conn, topic)
        raise
    joined = Joined(channel, ctx, mode)
    conn.joined[topic] = joined
    hub.subscribe(topic, conn, joined)
    hub.stats.joins += 1
    if hub.events.listening["join"]:
        hub.events.emit("join", conn=conn.id, topic=topic)
    conn.send_frame(reply)
    state = hub.presence.state_frame(topic, mode)
    if state is not None:
        conn.send_frame(state)


async def _event(conn: Connection, frame: envelope.Inbound) -> None:
    topic = frame.topic
    assert topic is not None and frame.event is not None
    joined = conn.joined.get(topic)
    if joined is None:
        raise MegaError(
            "ws.not_joined", f"join {topic!r} before sending events to it", {"topic": topic}
        )
    base = joined.ctx
    ctx = ChannelCtx(base.hub, conn, topic, base.params, frame.ref)
    result = await joined.channel.on_message(ctx, frame.event, frame.payload)
    if frame.ref is not None and not ctx._replied:
        conn.send_frame(envelope.reply(topic, frame.ref, {} if result is None else result))


async def leave_topic(hub: Hub, conn: Connection, topic: str, reason: str) -> None:
    """Run ``on_leave``, untrack the connection's presences there, unsubscribe."""
    joined = conn.joined.pop(topic, None)
    if joined is None:
        return
    try:
        await joined.channel.on_leave(joined.ctx, reason)
    except Exception:
        conn.log.exception("ws.on_leave_failed", topic=topic)
    finally:
        hub.presence.untrack(conn, topic)
        hub.unsubscribe(topic, conn)
        hub.stats.leaves += 1
        if hub.events.listening["leave"]:
            hub.events.emit("leave", conn=conn.id, topic=topic, reason=reason)


async def disconnect(hub: Hub, conn: Connection, reason: str) -> None:
    """Forget a connection: leave its topics (``on_leave(reason)``) and untrack it. Idempotent."""
    if hub.connections.pop(conn.id, None) is None:
        return
    for topic in list(conn.joined):
        await leave_topic(hub, conn, topic, reason)
    hub.presence.untrack(conn)
    hub.stats.disconnects += 1
    if hub.events.listening["disconnect"]:
        hub.events.emit("disconnect", conn=conn.id, reason=reason)
