"""The envelope, its associated data, AES-256-GCM sealing and key agreement.

An envelope is one JSON object::

    {"v": 1, "kid": "acme-2025b", "ts": 1767225600123, "nonce": "<12 bytes>", "ct": "<...>"}

``nonce`` and ``ct`` (ciphertext followed by the 16-byte GCM tag) are standard base64, padded
(``binascii`` decodes it in C, strictly); ``ts`` is milliseconds since the Unix epoch. The nonce
is GCM's IV, random per message.
The associated data binds what the message is for (see ``request_aad`` and friends), so an
envelope sealed for ``POST /pay`` does not open as ``POST /refund``, nor a client's frame as the
server's.

Both ends use this module: the server's runtime and ``SecureClient``.
"""

from __future__ import annotations

import binascii
import os
import time
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import errors

VERSION = 1
#: the content type of an enveloped request or response body
MEDIA_TYPE = "application/vnd.mega.secure+json"
#: the header carrying the envelope of a request without a body (GET, DELETE)
HEADER = "x-mega-secure"
#: the WebSocket subprotocol prefix naming the key of a secure socket: ``mega.secure.<kid>``
SUBPROTOCOL_PREFIX = "mega.secure."
NONCE_BYTES = 12
KEY_BYTES = 32
ALGORITHMS = ("x25519", "p256")
_LABEL = "mega-secure/1"
_KID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_MAX_KID = 256


_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


def b64(data: bytes) -> str:
    """Standard base64, padded (the envelope's binary fields)."""
    return binascii.b2a_base64(data, newline=False).decode()


def unb64(text: str, what: str) -> bytes:
    """Strict standard base64 (padded): any other character is a bad envelope."""
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise errors.bad_envelope(f"{what} is not base64") from None


def b64u(data: bytes) -> str:
    """base64url without padding (tickets: they travel in a WebSocket subprotocol)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode()


def unb64u(text: str, what: str) -> bytes:
    """Strict base64url, padding optional."""
    try:
        raw = text.encode("ascii")
        if b"+" in raw or b"/" in raw:
            raise ValueError("standard base64, not base64url")
        padded = raw.translate(_FROM_URL) + b"=" * (-len(raw) % 4)
        return binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise errors.bad_envelope(f"{what} is not base64url") from None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Envelope:
    """One sealed message: key id, timestamp (ms), nonce and ciphertext (with its tag)."""

    kid: str
    ts: int
    nonce: bytes
    ct: bytes

    def dumps(self) -> bytes:
        return orjson.dumps(
            {"v": VERSION, "kid": self.kid, "ts": self.ts, "nonce": b64(self.nonce),
             "ct": b64(self.ct)}
        )  # fmt: skip

    @classmethod
    def loads(cls, data: bytes | str) -> Envelope:
        """Parse and check one envelope; raises ``secure.bad_envelope`` naming the problem,
        ``secure.unsupported_version`` for another version."""
        try:
            raw: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise errors.bad_envelope("it is not JSON") from None
        if not isinstance(raw, dict):
            raise errors.bad_envelope("it is not a JSON object")
        version = raw.get("v")
        if version != VERSION or isinstance(version, bool):
            if version is None:
                raise errors.bad_envelope("'v' is missing")
            raise errors.unsupported_version(version)
        kid, ts, nonce, ct = raw.get("kid"), raw.get("ts"), raw.get("nonce"), raw.get("ct")
        if not isinstance(kid, str) or not valid_kid(kid):
            raise errors.bad_envelope("'kid' must be 1 to 256 of A-Z a-z 0-9 _ - .")
        if not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts < 1 << 53:
            raise errors.bad_envelope("'ts' must be an integer of milliseconds since 1970")
        if not isinstance(nonce, str) or not isinstance(ct, str):
            raise errors.bad_envelope("'nonce' and 'ct' must be base64 strings")
        nonce_bytes = unb64(nonce, "'nonce'")
        if len(nonce_bytes) != NONCE_BYTES:
            raise errors.bad_envelope(f"'nonce' must be {NONCE_BYTES} bytes")
        ct_bytes = unb64(ct, "'ct'")
        if len(ct_bytes) < 16:
            raise errors.bad_envelope("'ct' is shorter than the 16-byte tag")
        return cls(kid, ts, nonce_bytes, ct_bytes)


def valid_kid(kid: str) -> bool:
    return 0 < len(kid) <= _MAX_KID and _KID_CHARS.issuperset(kid)


# -- associated data: what a message is for --------------------------------------------------


def request_aad(method: str, target: str, ts: int, kid: str) -> bytes:
    """A request: method, path with its query string as sent, timestamp, key id."""
    return f"{_LABEL}\nreq\n{method}\n{target}\n{ts}\n{kid}".encode()


def response_aad(status: int, request_nonce: bytes, ts: int, kid: str) -> bytes:
    """A response: its status and the nonce of the request it answers (a response cannot be
    replayed as the answer to another request)."""
    return f"{_LABEL}\nres\n{status}\n{b64(request_nonce)}\n{ts}\n{kid}".encode()


def frame_aad(direction: str, path: str, ts: int, kid: str) -> bytes:
    """A WebSocket frame; ``direction`` is ``c`` (client to server) or ``s`` (server to
    client), so a server frame does not open as a client's."""
    return f"{_LABEL}\nws-{direction}\n{path}\n{ts}\n{kid}".encode()


# -- sealing -----------------------------------------------------------------------------------


def seal(aead: AESGCM, kid: str, plaintext: bytes, aad: bytes, ts: int, nonce: bytes) -> Envelope:
    """Encrypt ``plaintext`` under ``aead``; ``aad`` must be built from the same ``ts``/``kid``."""
    return Envelope(kid, ts, nonce, aead.encrypt(nonce, plaintext, aad))


def fresh_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def unseal(aead: AESGCM, envelope: Envelope, aad: bytes) -> bytes:
    """Decrypt and authenticate; anything wrong is ``secure.decrypt_failed``, nothing more."""
    try:
        return aead.decrypt(envelope.nonce, envelope.ct, aad)
    except InvalidTag:
        raise errors.decrypt_failed() from None


# -- key agreement (X25519 or ECDH P-256, then HKDF-SHA256) ------------------------------------


def _hkdf(shared: bytes, alg: str, client_public: bytes, server_public: bytes) -> bytes:
    info = f"{_LABEL} key {alg}".encode() + client_public + server_public
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(shared)


class Agreement:
    """One side's ephemeral key pair for ``alg``; ``key(peer_public)`` derives the shared
    AES-256 key (the same on both sides)."""

    __slots__ = ("_private", "alg", "public")

    def __init__(self, alg: str) -> None:
        if alg == "x25519":
            self._private: Any = x25519.X25519PrivateKey.generate()
            self.public = self._private.public_key().public_bytes_raw()
        elif alg == "p256":
            self._private = ec.generate_private_key(ec.SECP256R1())
            self.public = self._private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        else:
            raise ValueError(f"unknown agreement algorithm {alg!r}; use one of {ALGORITHMS}")
        self.alg = alg

    def shared(self, peer_public: bytes) -> bytes:
        """The raw shared secret; ``secure.bad_public_key`` if ``peer_public`` is not a valid
        public key of this algorithm (or is a low-order X25519 point)."""
        try:
            if self.alg == "x25519":
                peer = x25519.X25519PublicKey.from_public_bytes(peer_public)
                secret: bytes = self._private.exchange(peer)
            else:
                point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public)
                secret = self._private.exchange(ec.ECDH(), point)
        except ValueError:  # wrong length, not on the curve, or an all-zero X25519 result
            raise errors.SecureError(
                "secure.bad_public_key",
                f"public_key is not a valid {self.alg} public key (x25519: 32 raw bytes; p256: "
                "the 65-byte uncompressed point), base64",
                {"alg": self.alg},
            ) from None
        return secret

    def server_key(self, client_public: bytes) -> bytes:
        """The shared key, this side being the server."""
        return _hkdf(self.shared(client_public), self.alg, client_public, self.public)

    def client_key(self, server_public: bytes) -> bytes:
        """The shared key, this side being the client."""
        return _hkdf(self.shared(server_public), self.alg, self.public, server_public)
