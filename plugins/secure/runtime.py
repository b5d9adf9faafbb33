"""``SecureRuntime``: the server side of the protocol (``app.extensions["secure"]``).

Opening a message runs the checks in the order that costs an attacker most and the server
least: the key id resolves (``secure.unknown_key``, ``secure.key_expired``), the timestamp is
within the skew window (``secure.stale``), the ciphertext authenticates under the key and the
associated data (``secure.decrypt_failed``), and only then is the nonce recorded
(``secure.replayed``) — so a forgery never reaches the shared cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .crypto import Envelope, fresh_nonce, now_ms, seal, unseal
from .keys import Key, Keyring
from .replay import ReplayGuard
from .settings import SecureSettings

#: the ASGI scope key of a request or socket that arrived enveloped (a ``Peer``)
SCOPE_KEY = "mega.secure"


@dataclass(slots=True, frozen=True)
class Peer:
    """Who sealed a request: the key id and, for configured keys and tickets agreed under
    one, the client id."""

    kid: str
    client: str | None


class SecureRuntime:
    """Opens and seals envelopes for one app."""

    __slots__ = ("clock", "guard", "keyring", "settings")

    def __init__(
        self,
        settings: SecureSettings,
        keyring: Keyring,
        guard: ReplayGuard,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.guard = guard
        self.clock = clock

    async def open(self, envelope: Envelope, aad: bytes) -> tuple[bytes, Key]:
        """The plaintext and the key of an envelope that passes every check."""
        now = self.clock()
        key = self.keyring.resolve(envelope.kid, now)
        self.guard.check_fresh(envelope.ts, now)
        plaintext = unseal(key.aead, envelope, aad)
        await self.guard.check_unused(envelope.nonce.hex())
        return plaintext, key

    def seal(self, key: Key, plaintext: bytes, aad: Callable[[int, str], bytes]) -> Envelope:
        """An envelope of ``plaintext`` under ``key``; ``aad(ts, kid)`` binds its purpose."""
        ts = self.clock()
        return seal(key.aead, key.kid, plaintext, aad(ts, key.kid), ts, fresh_nonce())


def peer_of(ctx_or_scope: Any) -> Peer | None:
    """The ``Peer`` of an enveloped request or socket (``peer_of(ctx)`` in a handler,
    ``peer_of(ctx.request.scope)``), or None when it came in the clear."""
    scope = ctx_or_scope
    request = getattr(ctx_or_scope, "request", None)
    if request is not None:
        scope = request.scope
    found = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    return found if isinstance(found, Peer) else None
