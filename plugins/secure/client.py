"""``SecureClient``: the Python client (httpx for HTTP, ``websockets`` for sockets).

::

    client = await SecureClient.agree("https://api.example.com")          # an agreed key
    client = SecureClient("https://api.example.com", kid="acme-2025b",   # or a configured one
                          key=base64.b64decode(os.environ["ACME_KEY"]))
    async with client:
        answer = await client.post("/api/secure/notes", json={"text": "hi"})
        answer.json()                      # {"ok": true, "data": ...}, opened and checked
        async with client.websocket("/ws") as ws:   # WsClient(ws) speaks the ws envelope on it
            await ws.send('{"type": "ping", "ref": "1"}')
            print(await ws.recv())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import errors
from .crypto import (
    HEADER,
    KEY_BYTES,
    MEDIA_TYPE,
    SUBPROTOCOL_PREFIX,
    Agreement,
    Envelope,
    b64,
    frame_aad,
    fresh_nonce,
    now_ms,
    request_aad,
    response_aad,
    seal,
    unb64,
    unseal,
)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(slots=True)
class SecureResponse:
    """An answer: ``sealed`` when it came enveloped (then opened and authenticated), else an
    answer in the clear — a ``secure.*`` refusal, or anything a party in the middle wrote."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    sealed: bool

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode()


@dataclass(slots=True, frozen=True)
class Sealed:
    """A prepared request: the httpx request (its body or header the envelope) and the nonce
    its answer must be bound to."""

    request: httpx.Request
    nonce: bytes


class SecureClient:
    """Seals requests and opens answers under one key (``kid``, 32-byte ``key``)."""

    def __init__(
        self,
        base_url: str = "",
        *,
        kid: str,
        key: bytes,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], int] = now_ms,
        skew_s: float = 60.0,
    ) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"key must be {KEY_BYTES} bytes, got {len(key)}")
        self.kid = kid
        self.aead = AESGCM(key)
        self.clock = clock
        self.skew_ms = int(skew_s * 1000)
        self._own_http = http is None
        self.http = http if http is not None else httpx.AsyncClient(base_url=base_url)

    @classmethod
    async def agree(
        cls,
        base_url: str = "",
        *,
        http: httpx.AsyncClient | None = None,
        alg: str = "x25519",
        path: str = "/secure/handshake",
        under: SecureClient | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> SecureClient:
        """A client with a key agreed at ``path`` (``alg``: x25519 or p256). ``under``: a
        client with a configured key to send the handshake with, so the ticket names its
        client id (and a party in the middle cannot agree in its place)."""
        own = Agreement(alg)
        body = {"alg": alg, "public_key": b64(own.public)}
        if under is not None:
            answer = await under.post(path, json=body)
        else:
            client = http if http is not None else httpx.AsyncClient(base_url=base_url)
            raw = await client.post(path, json=body)
            if http is None:
                await client.aclose()
            answer = SecureResponse(raw.status_code, raw.headers, raw.content, False)
        if answer.status_code != 200:
            error = (answer.json() or {}).get("error", {}) if answer.content else {}
            raise errors.SecureError(
                str(error.get("code", "secure.handshake_failed")),
                f"the handshake at {path} was refused ({answer.status_code}): "
                f"{error.get('message', answer.text[:200])}",
                {"status": answer.status_code},
            )
        data = answer.json()["data"]
        key = own.client_key(unb64(data["public_key"], "public_key"))
        return cls(base_url, kid=data["kid"], key=key, http=http, clock=clock)

    async def __aenter__(self) -> SecureClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> SecureResponse:
        """Send ``json`` (or raw ``content``) sealed; the answer comes back opened."""
        sealed = self.prepare(
            method, url, json=json, content=content, params=params, headers=headers
        )
        return await self.send(sealed)

    def prepare(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Sealed:
        """The sealed request, not sent (``send`` sends it; sending it twice is a replay)."""
        method = method.upper()
        plaintext = content if content is not None else b"" if json is None else orjson.dumps(json)
        url_only = self.http.build_request(method, url, params=params)
        target = url_only.url.raw_path.decode("ascii")
        ts, nonce = self.clock(), fresh_nonce()
        envelope = seal(
            self.aead, self.kid, plaintext, request_aad(method, target, ts, self.kid), ts, nonce
        )
        sent = dict(headers or {})
        body: bytes | None = None
        if plaintext or method in _BODY_METHODS:
            sent["content-type"] = MEDIA_TYPE
            body = envelope.dumps()
        else:
            sent[HEADER] = envelope.dumps().decode()
        request = self.http.build_request(method, url_only.url, headers=sent, content=body)
        return Sealed(request, nonce)

    async def send(self, sealed: Sealed) -> SecureResponse:
        """Send a prepared request; a sealed answer is opened and checked against it."""
        raw = await self.http.send(sealed.request)
        return self._open(raw, sealed.nonce)

    def _open(self, raw: httpx.Response, request_nonce: bytes) -> SecureResponse:
        media = raw.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != MEDIA_TYPE:
            if raw.status_code < 400 and raw.content:
                raise errors.SecureError(
                    "secure.unsealed",
                    f"a sealed request got a {raw.status_code} answer in the clear: refused (it "
                    "could come from anyone between us and the server)",
                    {"status": raw.status_code},
                )
            return SecureResponse(raw.status_code, raw.headers, raw.content, False)
        envelope = Envelope.loads(raw.content)
        if envelope.kid != self.kid:
            raise errors.decrypt_failed()
        aad = response_aad(raw.status_code, request_nonce, envelope.ts, envelope.kid)
        plaintext = unseal(self.aead, envelope, aad)
        return SecureResponse(raw.status_code, raw.headers, plaintext, True)

    async def get(self, url: str, **kwargs: Any) -> SecureResponse:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> SecureResponse:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> SecureResponse:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> SecureResponse:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> SecureResponse:
        return await self.request("DELETE", url, **kwargs)

    @asynccontextmanager
    async def websocket(
        self, path: str = "/ws", *, base_url: str | None = None, token: str | None = None
    ) -> AsyncIterator[SecureWebSocket]:
        """A secure socket to ``path`` (on ``base_url``, default the client's)."""
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol

        base = base_url if base_url is not None else str(self.http.base_url).rstrip("/")
        url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + path
        protocols = [Subprotocol("mega.v1"), Subprotocol(SUBPROTOCOL_PREFIX + self.kid)]
        if token is not None:
            protocols.append(Subprotocol(f"bearer.{token}"))
        ws = await connect(url, subprotocols=protocols, max_size=None)
        socket = SecureWebSocket(ws, self, path)
        try:
            yield socket
        finally:
            await ws.close()


class SecureWebSocket:
    """A socket whose frames are sealed both ways; ``send``/``recv``/``async for`` see the
    plain text frames (``mega.testing.WsClient(socket)`` speaks the ws envelope over it).
    A server frame that is stale, replayed or does not open raises ``SecureError``."""

    def __init__(self, ws: Any, client: SecureClient, path: str) -> None:
        self.ws = ws
        self.client = client
        self.path = path
        self._seen: dict[bytes, int] = {}

    @property
    def close_code(self) -> int | None:
        code: int | None = self.ws.close_code
        return code

    @property
    def close_reason(self) -> str:
        return str(self.ws.close_reason or "")

    def seal(self, text: str | bytes) -> str:
        """The envelope the socket sends for ``text`` (for tests that send it twice)."""
        client = self.client
        plaintext = text.encode() if isinstance(text, str) else text
        ts = client.clock()
        aad = frame_aad("c", self.path, ts, client.kid)
        return seal(client.aead, client.kid, plaintext, aad, ts, fresh_nonce()).dumps().decode()

    async def send(self, text: str | bytes) -> None:
        await self.ws.send(self.seal(text))

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def recv(self) -> str:
        return self.open(await self.ws.recv())

    def open(self, data: str | bytes) -> str:
        client = self.client
        envelope = Envelope.loads(data)
        if envelope.kid != client.kid:
            raise errors.decrypt_failed()
        now = client.clock()
        if abs(now - envelope.ts) > client.skew_ms:
            raise errors.stale(envelope.ts, now, client.skew_ms / 1000)
        plaintext = unseal(
            client.aead, envelope, frame_aad("s", self.path, envelope.ts, envelope.kid)
        )
        if envelope.nonce in self._seen:
            raise errors.replayed()
        self._seen[envelope.nonce] = envelope.ts
        if len(self._seen) > 4096:  # forget what can no longer be fresh
            horizon = now - 2 * client.skew_ms
            self._seen = {n: t for n, t in self._seen.items() if t >= horizon}
        return plaintext.decode()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[str]:
        async for data in self.ws:
            yield self.open(data)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.sleep(0)
