"""The HTTP side: an ASGI wrapper (``mega_http_middleware``) that opens enveloped requests
before routing and seals their responses, and the ``RequireSecure`` route middleware.

A request is enveloped when its content type is ``application/vnd.mega.secure+json`` (the
envelope is the body) or, without a body, when it carries the ``x-mega-secure`` header (the
envelope as JSON). Under a ``[plugins.secure] paths`` prefix every request must be; elsewhere a
client may choose to. The handler then sees a plain JSON request (``content-type:
application/json``, the plaintext as body), and every answer to it — data, a 4xx envelope, a
redirect — goes back sealed, bound to the request's nonce and to its status. What cannot be
opened is answered in the clear with a ``secure.*`` 4xx in the error envelope: there is no key
to seal it with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .crypto import HEADER, MEDIA_TYPE, Envelope, request_aad, response_aad
from .runtime import SCOPE_KEY, Peer, peer_of

if TYPE_CHECKING:
    from mega import App

    from .runtime import SecureRuntime

_MEDIA = MEDIA_TYPE.encode()
_HEADER = HEADER.encode()
_NO_BODY = frozenset({204, 304})


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        base = prefix.rstrip("/")
        if path == base or path.startswith(base + "/"):
            return True
    return False


def request_target(scope: dict[str, Any]) -> str:
    """The path and query string as the client sent them (what its associated data binds)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    target = raw.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


class SecureMiddleware:
    """Pure ASGI; a request that is not enveloped, outside the required prefixes, costs one
    scan of its headers."""

    __slots__ = ("_runtime", "app", "owner", "prefixes")

    def __init__(self, app: Any, owner: App, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.owner = owner
        self.prefixes = prefixes
        self._runtime: SecureRuntime | None = None

    @property
    def runtime(self) -> SecureRuntime:
        # looked up at the first request: the wrapper is built before the plugin boots (and by
        # `mega routes`, which never boots)
        if self._runtime is None:
            self._runtime = self.owner.extension("secure", needed_by="a secure request")
        return self._runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        in_body = False
        header: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                in_body = value.split(b";", 1)[0].strip().lower() == _MEDIA
            elif key == _HEADER:
                header = value
        if not in_body and header is None:
            if self.prefixes and _under(scope["path"], self.prefixes):
                raise errors.required(f"path {scope['path']}")
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if in_body:
            envelope = Envelope.loads(body)
        else:
            if body:
                raise errors.bad_envelope(
                    f"a request with a body sends the envelope as the body ({MEDIA_TYPE}), "
                    f"not in {HEADER}"
                )
            envelope = Envelope.loads(header or b"")
        runtime = self.runtime
        plaintext, key = await runtime.open(
            envelope,
            request_aad(scope["method"], request_target(scope), envelope.ts, envelope.kid),
        )
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k not in (b"content-type", b"content-length", _HEADER)
        ]
        if plaintext:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(plaintext)).encode()),
            ]
        scope["headers"] = headers
        scope[SCOPE_KEY] = Peer(key.kid, key.client)
        delivered = False

        async def plain_receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": plaintext, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def sealed_send(message: dict[str, Any]) -> None:
            nonlocal start
            kind = message["type"]
            if kind == "http.response.start":
                start = message
                if message["status"] in _NO_BODY or scope["method"] == "HEAD":
                    await send(message)  # no body to seal
                return
            if kind != "http.response.body" or start is None:
                await send(message)
                return
            if start["status"] in _NO_BODY or scope["method"] == "HEAD":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return  # a streamed answer is sealed whole, once complete
            status = start["status"]
            sealed = runtime.seal(
                key,
                b"".join(chunks),
                lambda ts, kid: response_aad(status, envelope.nonce, ts, kid),
            ).dumps()
            start["headers"] = [
                *(
                    (k, v)
                    for k, v in start.get("headers", ())
                    if k not in (b"content-type", b"content-length")
                ),
                (b"content-type", _MEDIA),
                (b"content-length", str(len(sealed)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await send(start)
            await send({"type": "http.response.body", "body": sealed, "more_body": False})

        await self.app(scope, plain_receive, sealed_send)


async def _read_body(receive: Any) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


class RequireSecure:
    """Route middleware: the route answers only enveloped requests
    (``post("/pay", pay, middleware=[RequireSecure])``); others get 400 ``secure.required``."""

    def before(self, ctx: Any) -> None:
        if peer_of(ctx) is None:
            raise errors.required(f"route {ctx.request.method} {ctx.request.url.path}")
