"""``Keyring``: the keys a server accepts, by key id.

Two kinds of key id:

- a **configured** id (``acme-2025b``: letters, digits, ``_``, ``-``) names a key of
  ``[plugins.secure.clients.<client>] keys``. Listing a new id next to the old one is a rotation:
  both are accepted until the old one is removed or passes its ``not_after``.
- a **ticket** (``<ticket key id>.<sealed>``: it has a dot) is what the handshake hands out: the
  agreed key, its expiry and its client, sealed with AES-256-GCM under a ticket key. Any process
  holding the ticket key opens it, so agreed keys need no shared storage; listing several ticket
  keys is the same overlap as for configured keys.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from mega import MegaConfigError

from . import errors
from .crypto import KEY_BYTES, NONCE_BYTES, b64u, fresh_nonce, unb64u
from .settings import SecureSettings

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TICKET_LABEL = b"mega-secure/1 ticket "
#: opened tickets kept per process (opening one costs a decryption)
TICKET_CACHE = 10_000


@dataclass(slots=True, frozen=True)
class Key:
    """An accepted key: its id, its AEAD, the client it belongs to, when it stops (ms)."""

    kid: str
    aead: AESGCM
    client: str | None
    expires_ms: int | None


def decode_secret(secret: SecretStr, where: str) -> bytes:
    """32 bytes from base64 or base64url; ``secure.invalid_key`` naming ``where`` (never the
    value) otherwise."""
    text = secret.get_secret_value().strip()
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise MegaConfigError(
            "secure.invalid_key",
            f"{where} must be base64 of {KEY_BYTES} random bytes (the value is not shown); make "
            'one with: python -c "import os, base64; print(base64.b64encode(os.urandom(32))'
            '.decode())"',
            {"key": where},
        )
    return raw


def _config_error(message: str, key: str) -> MegaConfigError:
    return MegaConfigError("secure.invalid_config", message, {"key": key})


class Keyring:
    """Resolves key ids to ``Key``s and seals tickets; built once at boot from the settings."""

    def __init__(self, settings: SecureSettings) -> None:
        self._configured: dict[str, Key] = {}
        for client, table in settings.clients.items():
            where = f"plugins.secure.clients.{client}"
            if not _ID.match(client):
                raise _config_error(f"{where}: a client id is 1 to 64 of A-Z a-z 0-9 _ -", where)
            for kid in table.not_after:
                if kid not in table.keys:
                    raise _config_error(
                        f"{where}.not_after.{kid} names a key id that is not in {where}.keys",
                        f"{where}.not_after.{kid}",
                    )
            for kid, secret in table.keys.items():
                if not _ID.match(kid):
                    raise _config_error(
                        f"{where}.keys: key id {kid!r} must be 1 to 64 of A-Z a-z 0-9 _ -",
                        f"{where}.keys",
                    )
                if kid in self._configured:
                    raise _config_error(
                        f"key id {kid!r} is listed by clients "
                        f"{self._configured[kid].client!r} and {client!r}; key ids are unique",
                        f"{where}.keys.{kid}",
                    )
                raw = decode_secret(secret, f"{where}.keys.{kid}")
                until = table.not_after.get(kid)
                self._configured[kid] = Key(
                    kid, AESGCM(raw), client, None if until is None else until * 1000
                )
        agreement = settings.agreement
        self._tickets: dict[str, AESGCM] = {}
        for tid, secret in agreement.ticket_keys.items():
            where = f"plugins.secure.agreement.ticket_keys.{tid}"
            if not _ID.match(tid):
                raise _config_error(
                    f"ticket key id {tid!r} must be 1 to 64 of A-Z a-z 0-9 _ -", where
                )
            self._tickets[tid] = AESGCM(decode_secret(secret, where))
        self.current = agreement.current
        if agreement.enabled and self.current not in self._tickets:
            raise _config_error(
                "[plugins.secure.agreement] is enabled, so 'current' must name one of its "
                f"ticket_keys (current: {self.current!r}; listed: "
                f"{', '.join(sorted(self._tickets)) or 'none'}); add a ticket key "
                "(MEGA__PLUGINS__SECURE__AGREEMENT__TICKET_KEYS__<ID>=<base64 of 32 bytes>)",
                "plugins.secure.agreement.current",
            )
        self._opened: OrderedDict[str, Key] = OrderedDict()

    @property
    def client_ids(self) -> list[str]:
        return sorted({k.client for k in self._configured.values() if k.client})

    def resolve(self, kid: str, now_ms: int) -> Key:
        """The key ``kid`` names; ``secure.unknown_key`` or ``secure.key_expired``."""
        key = self._configured.get(kid)
        if key is None:
            key = self._opened.get(kid)
            if key is None:
                key = self._open_ticket(kid)
        if key.expires_ms is not None and now_ms > key.expires_ms:
            raise errors.key_expired(kid)
        return key

    def issue(self, raw: bytes, client: str | None, expires_ms: int) -> str:
        """A ticket (a key id) for the agreed key ``raw``, sealed under the current ticket key."""
        tid = self.current
        sealer = self._tickets[tid]
        nonce = fresh_nonce()
        payload = raw + struct.pack(">Q", expires_ms) + (client or "").encode()
        sealed = sealer.encrypt(nonce, payload, _TICKET_LABEL + tid.encode())
        return f"{tid}.{b64u(nonce + sealed)}"

    def _open_ticket(self, kid: str) -> Key:
        tid, dot, blob = kid.partition(".")
        opener = self._tickets.get(tid) if dot else None
        if opener is None:
            raise errors.unknown_key(kid)
        try:
            data = unb64u(blob, "the ticket")
            payload = opener.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], _TICKET_LABEL + tid.encode()
            )
        except (errors.SecureError, InvalidTag, ValueError):
            raise errors.unknown_key(kid) from None  # a forged or damaged ticket names no key
        raw, (expires_ms,) = (
            payload[:KEY_BYTES],
            struct.unpack(">Q", payload[KEY_BYTES : KEY_BYTES + 8]),
        )
        client = payload[KEY_BYTES + 8 :].decode() or None
        key = Key(kid, AESGCM(raw), client, expires_ms)
        self._opened[kid] = key
        if len(self._opened) > TICKET_CACHE:
            self._opened.popitem(last=False)
        return key
