"""The ``[plugins.auth]`` table: argon2id parameters, identity keys, and ``[plugins.auth.guard]``.

Every value is checked at boot. The argon2id floor is OWASP's (Password Storage Cheat Sheet):
the least memory each number of passes may use; the defaults are argon2-cffi's own (RFC 9106's
low-memory profile: 3 passes over 64 MiB, 4 lanes).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mega import PluginConfig

#: OWASP's argon2id minimums: passes (time_cost) -> KiB of memory (memory_cost) at least
OWASP_MIN_MEMORY_KIB = {1: 47_104, 2: 19_456, 3: 12_288, 4: 9_216}
OWASP_MIN_MEMORY_KIB_FROM_5_PASSES = 7_168
# (the floor is far above argon2's own 8 KiB per lane, for every allowed parallelism)
#: 4 GiB: a larger memory_cost is almost surely bytes or MiB where KiB were meant
MAX_MEMORY_KIB = 4 * 1024 * 1024

_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")


def min_memory_kib(time_cost: int) -> int:
    """The least ``memory_cost`` (KiB) OWASP accepts with ``time_cost`` passes."""
    return OWASP_MIN_MEMORY_KIB.get(time_cost, OWASP_MIN_MEMORY_KIB_FROM_5_PASSES)


class GuardSettings(BaseModel):
    """``[plugins.auth.guard]``: the brute-force guard's counters and lockouts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the ``[adapters.cache.<alias>]`` holding the counters: redis (or file, one host) so that
    #: every process counts together; memory counts per process
    cache: str = "default"
    #: prepended to every key the guard writes (after the cache adapter's own prefix)
    key_prefix: str = "auth:"
    #: failures of one account that lock it
    account_threshold: int = Field(default=5, ge=1, le=1_000)
    #: failures from one client address (any accounts) that lock the address
    address_threshold: int = Field(default=20, ge=1, le=100_000)
    #: failures are counted in a window this long from the first one
    window_s: int = Field(default=3_600, ge=1, le=30 * 86_400)
    #: the first lock; each failure after a lock lifts doubles it...
    base_lock_s: int = Field(default=30, ge=1, le=86_400)
    #: ...up to this
    max_lock_s: int = Field(default=900, ge=1, le=30 * 86_400)
    #: IPv6 clients are counted per network of this prefix length (one host owns a /64)
    ipv6_prefix: int = Field(default=64, ge=32, le=128)

    @field_validator("cache")
    @classmethod
    def _alias(cls, value: str) -> str:
        if not _ALIAS.match(value):
            raise ValueError(
                "must be the alias of an [adapters.cache.<alias>] table (letters, digits, "
                "'-' or '_')"
            )
        return value

    @field_validator("max_lock_s")
    @classmethod
    def _cap(cls, value: int, info: ValidationInfo) -> int:
        base = info.data.get("base_lock_s")
        if base is not None and value < base:
            raise ValueError(f"the longest lock must be at least base_lock_s ({base} s)")
        window = info.data.get("window_s")
        if window is not None and window < value:
            raise ValueError(
                f"window_s ({window} s) is shorter than this: failures would be forgotten while "
                "their lock still runs, so locks would never grow to it; raise window_s or "
                "lower max_lock_s"
            )
        return value


class AuthSettings(PluginConfig):
    """The ``[plugins.auth]`` table."""

    #: argon2id passes over the memory
    time_cost: int = Field(default=3, ge=1, le=100)
    #: argon2id memory per hash, in KiB (65536 = 64 MiB)
    memory_cost: int = Field(default=65_536, ge=1, le=MAX_MEMORY_KIB)
    #: argon2id lanes (threads per hash)
    parallelism: int = Field(default=4, ge=1, le=64)
    #: bytes of hash
    hash_len: int = Field(default=32, ge=16, le=64)
    #: bytes of random salt
    salt_len: int = Field(default=16, ge=16, le=64)
    #: longer passwords are refused before any hashing (422 auth.password_too_long)
    max_password_length: int = Field(default=1_024, ge=64, le=65_536)
    #: hashes computed at once (each holds memory_cost KiB); 0: one per CPU
    concurrency: int = Field(default=0, ge=0, le=1_024)
    #: the session key holding the signed-in user's id (the ws plugin reads the same key)
    session_key: str = Field(default="user_id", min_length=1)
    #: the session key holding the roles given at sign-in (used without a user_loader)
    roles_key: str = Field(default="roles", min_length=1)
    #: "package.module:function": ``async (ctx, user_id) -> Identity | None``, once a request
    user_loader: str | None = None
    #: where SignedIn and RequireRole send an anonymous browser (``?next=<path>``); None: 401
    login_url: str | None = None
    guard: GuardSettings = GuardSettings()

    @field_validator("memory_cost")
    @classmethod
    def _memory(cls, value: int, info: ValidationInfo) -> int:
        passes = info.data.get("time_cost")
        if passes is not None and value < min_memory_kib(passes):
            raise ValueError(
                f"argon2id with time_cost = {passes} needs memory_cost >= "
                f"{min_memory_kib(passes)} KiB (OWASP's minimum; the value is in KiB); raise "
                "memory_cost, or time_cost to trade passes for memory"
            )
        return value

    @field_validator("user_loader")
    @classmethod
    def _loader(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError("must be 'package.module:function'")
        return value

    @field_validator("login_url")
    @classmethod
    def _login(cls, value: str | None) -> str | None:
        # a path on this site: "//evil.example" or "https://..." would send people elsewhere
        if value is not None and (not value.startswith("/") or value.startswith("//")):
            raise ValueError("must be a path on this site, starting with a single '/'")
        return value
