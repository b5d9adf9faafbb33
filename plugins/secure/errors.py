"""The secure protocol's failures: one stable code each, answered as a 4xx.

A refusal names what was wrong with the message, never what the crypto library said or which
check of a key's bytes failed: the codes tell a client what to fix (its clock, its key id, its
encoder), not how close a forgery came.
"""

from __future__ import annotations

from typing import Any

from mega import MegaError


class SecureError(MegaError):
    """A message the secure protocol refuses; ``code`` is one of the ``secure.*`` codes."""

    http_status = 400


def bad_envelope(why: str) -> SecureError:
    return SecureError(
        "secure.bad_envelope",
        f"the secure envelope is malformed: {why}; send "
        '{"v": 1, "kid", "ts", "nonce", "ct"} as described in docs/plugins/secure.md',
        {"problem": why},
    )


def unsupported_version(version: Any) -> SecureError:
    return SecureError(
        "secure.unsupported_version",
        f"secure envelope version {version!r} is not supported; this server speaks version 1",
        {"version": version if isinstance(version, int | str) else None, "supported": [1]},
    )


def unknown_key(kid: str) -> SecureError:
    return SecureError(
        "secure.unknown_key",
        "the envelope's key id is not known here (a rotated-out key, a ticket from another "
        "deployment, or a typo); agree a new key or use a current key id",
        {"kid": kid[:64]},
        http_status=401,
    )


def key_expired(kid: str) -> SecureError:
    return SecureError(
        "secure.key_expired",
        "the envelope's key has expired; agree a new key (POST the handshake again)",
        {"kid": kid[:64]},
        http_status=401,
    )


def stale(ts: int, now_ms: int, window_s: float) -> SecureError:
    return SecureError(
        "secure.stale",
        f"the envelope's timestamp is more than {window_s:g} s from the server's clock; "
        "check the client's clock (details.server_time_ms is the server's)",
        {"ts": ts, "server_time_ms": now_ms, "skew_s": window_s},
        http_status=401,
    )


def replayed() -> SecureError:
    return SecureError(
        "secure.replayed",
        "this envelope's nonce was already used: every message needs a fresh nonce",
        http_status=401,
    )


def decrypt_failed() -> SecureError:
    return SecureError(
        "secure.decrypt_failed",
        "the envelope did not decrypt and authenticate under its key (tampered, wrong key, or "
        "sent to another method, path or socket than it was sealed for)",
        http_status=401,
    )


def required(where: str) -> SecureError:
    return SecureError(
        "secure.required",
        f"{where} accepts only secure envelopes (content-type "
        "application/vnd.mega.secure+json, or the x-mega-secure header without a body)",
        {"where": where},
    )
