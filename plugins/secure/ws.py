"""The WebSocket terminator: a frame codec (the ws plugin's ``mega_ws_frame_codec``).

A client asks for a secure socket by offering the subprotocol ``mega.secure.<kid>`` next to
``mega.v1``; the key is checked at the upgrade (an unknown one is refused with 401). Every
client frame is then an envelope whose plaintext is the ws plugin's JSON frame, opened before
any channel sees it (a frame that does not open is answered with an error frame and dropped);
every frame to the client — replies, events, broadcasts, presence — is sealed under the key the
client last used, so a client rotating its key mid-connection is followed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .crypto import SUBPROTOCOL_PREFIX, Envelope, frame_aad, valid_kid
from .runtime import SCOPE_KEY, Peer

if TYPE_CHECKING:
    from mega import App

    from .keys import Key
    from .runtime import SecureRuntime


class SecureFrames:
    """The codec of one secure socket."""

    __slots__ = ("key", "path", "runtime")

    def __init__(self, runtime: SecureRuntime, key: Key, path: str) -> None:
        self.runtime = runtime
        self.key = key
        self.path = path

    async def decode(self, data: str | bytes) -> str:
        envelope = Envelope.loads(data)
        plaintext, key = await self.runtime.open(
            envelope, frame_aad("c", self.path, envelope.ts, envelope.kid)
        )
        self.key = key
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            raise errors.bad_envelope("the plaintext of a frame must be UTF-8 JSON") from None

    def encode(self, text: str) -> str:
        path = self.path
        envelope = self.runtime.seal(
            self.key, text.encode(), lambda ts, kid: frame_aad("s", path, ts, kid)
        )
        return envelope.dumps().decode()


def socket_codec(app: App, mode: str) -> Any:
    """``open(scope)`` for the ws plugin: a ``SecureFrames`` for a socket offering
    ``mega.secure.<kid>``; None for others (or ``secure.required`` when ``ws = "required"``)."""

    def open_socket(scope: dict[str, Any]) -> SecureFrames | None:
        kid = None
        for protocol in scope.get("subprotocols") or ():
            if protocol.startswith(SUBPROTOCOL_PREFIX):
                kid = protocol[len(SUBPROTOCOL_PREFIX) :]
                break
        if kid is None:
            if mode == "required":
                raise errors.SecureError(
                    "secure.required",
                    "this server accepts only secure sockets: offer the subprotocol "
                    "mega.secure.<key id> (the secure client does)",
                    {"where": scope.get("path", "")},
                    http_status=401,
                )
            return None
        if not valid_kid(kid):
            raise errors.unknown_key(kid)
        runtime: SecureRuntime = app.extension("secure", needed_by="a secure socket")
        key = runtime.keyring.resolve(kid, runtime.clock())
        scope[SCOPE_KEY] = Peer(key.kid, key.client)
        return SecureFrames(runtime, key, scope.get("path", ""))

    return open_socket
