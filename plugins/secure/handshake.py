"""The key agreement route (``[plugins.secure.agreement] path``, ``POST``).

The client sends an ephemeral public key; the server answers with its own, both derive the
same AES-256 key (ECDH, then HKDF-SHA256 over both public keys), and the server hands back the
key's id: a ticket sealing the key, its expiry and — when the handshake itself came enveloped
under a configured client key — that client's id. Nothing is stored: any process with the
ticket keys opens the ticket.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mega.plugins.http import HttpCtx

from .crypto import Agreement, b64, now_ms, unb64
from .errors import SecureError
from .runtime import SecureRuntime, peer_of


class HandshakeRequest(BaseModel):
    """A client's ephemeral public key: x25519 (32 raw bytes) or p256 (the 65-byte
    uncompressed point), base64."""

    alg: Literal["x25519", "p256"] = "x25519"
    public_key: str = Field(min_length=40, max_length=100)


class HandshakeAnswer(BaseModel):
    """The server's ephemeral public key and the agreed key's id (a ticket)."""

    alg: str
    public_key: str
    kid: str
    expires_at_ms: int
    server_time_ms: int


async def handshake(ctx: HttpCtx, body: HandshakeRequest) -> HandshakeAnswer:
    """Agree a key for the secure protocol."""
    runtime: SecureRuntime = ctx.app.extension("secure", needed_by="the handshake")
    try:
        client_public = unb64(body.public_key, "public_key")
    except SecureError:
        raise SecureError(
            "secure.bad_public_key",
            "public_key must be base64",
            {"alg": body.alg},
        ) from None
    server = Agreement(body.alg)
    raw = server.server_key(client_public)
    now = now_ms()
    expires = now + runtime.settings.agreement.ttl_s * 1000
    peer = peer_of(ctx)
    kid = runtime.keyring.issue(raw, peer.client if peer else None, expires)
    return HandshakeAnswer(
        alg=body.alg,
        public_key=b64(server.public),
        kid=kid,
        expires_at_ms=expires,
        server_time_ms=now,
    )
