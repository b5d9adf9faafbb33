"""``Guard``: brute-force protection for sign-in, per account and per client address.

Failures are counted in a cache adapter with ``incr`` (atomic, with a TTL set when the counter
is created: a fixed window). With redis every process and machine counts together; with the
file driver every process of one host; with memory, each process on its own. Past a threshold
the account (or address) is locked for ``base_lock_s * 2**(failures - threshold)`` seconds, up
to ``max_lock_s``: each failure after a lock lifts doubles the next one. While locked, ``check``
refuses before any password is verified, so a locked account cannot be probed. A success clears
the account's count, never the address's: one good password must not reset an attacker's
budget across other accounts.

Two processes that record failures at the same moment may both set the lock; the last write
wins, so it can be one step shorter than the larger count asks for. The next failure after it
lifts counts from the larger count.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable

from mega import Cache, Events, MegaError, get_logger

from .settings import GuardSettings

#: every event ``guard.events`` emits: ``lock`` (fields ``scope``, ``failures``, ``lock_s``)
#: when an account or address is locked, ``refuse`` (``scope``, ``retry_after_s``) when
#: ``check`` refuses an attempt
EVENTS = ("lock", "refuse")
SCOPES = ("account", "address")


class TooManyAttempts(MegaError):
    """Sign-in refused for a while after repeated failures (429; Retry-After over HTTP)."""

    http_status = 429

    def __init__(self, scope: str, retry_after_s: int) -> None:
        super().__init__(
            "auth.locked",
            f"too many failed sign-ins from this {scope}; try again in {retry_after_s} s",
            {"scope": scope, "retry_after_s": retry_after_s},
        )
        self.scope = scope
        self.retry_after_s = retry_after_s


class Guard:
    """Counts failed sign-ins and locks accounts and addresses (``guard(ctx)`` in an app)."""

    def __init__(
        self,
        cache: Cache,
        settings: GuardSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.settings = settings or GuardSettings()
        self.events = Events("auth", EVENTS)
        # wall-clock time: a lock's end is read by every process (and host) sharing the cache
        self._clock = clock
        self._log = get_logger(plugin="auth")
        self._window_ms = self.settings.window_s * 1000
        # past this many doublings the lock is at its cap anyway (and 2**n stays small)
        ratio = self.settings.max_lock_s / self.settings.base_lock_s
        self._max_doublings = max(0, math.ceil(math.log2(ratio))) if ratio > 1 else 0

    async def check(self, account: str, address: str) -> None:
        """Raise ``TooManyAttempts`` while ``account`` or ``address`` is locked (the longer
        wait when both are)."""
        await self._refuse_if_locked(
            [("account", self.account_key(account)), ("address", self.address_key(address))]
        )

    async def check_address(self, address: str) -> None:
        """Raise ``TooManyAttempts`` while ``address`` is locked (before the account is known:
        the ``GuardLogin`` route middleware)."""
        await self._refuse_if_locked([("address", self.address_key(address))])

    async def record_failure(self, account: str, address: str) -> None:
        """Count a failed sign-in; lock the account or the address past its threshold."""
        keys = [
            ("account", self.account_key(account), self.settings.account_threshold),
            ("address", self.address_key(address), self.settings.address_threshold),
        ]
        counts = await asyncio.gather(
            *(self.cache.incr(key, ttl_ms=self._window_ms) for _, key, _ in keys)
        )
        now = self._clock()
        for (scope, key, threshold), failures in zip(keys, counts, strict=True):
            if failures >= threshold:
                lock_s = self.lock_seconds(failures - threshold)
                await self.cache.set(f"{key}:lock", now + lock_s, ttl_ms=lock_s * 1000)
                self._log.warning("auth.locked", scope=scope, failures=failures, lock_s=lock_s)
                if self.events.listening["lock"]:
                    self.events.emit("lock", scope=scope, failures=failures, lock_s=lock_s)

    async def record_success(self, account: str) -> None:
        """Forget the account's failures (the address keeps its count)."""
        await self.cache.delete(self.account_key(account))

    async def reset(self, *, account: str | None = None, address: str | None = None) -> None:
        """Lift the lock and forget the failures of ``account`` and/or ``address`` (an
        operator's override)."""
        keys = []
        if account is not None:
            keys.append(self.account_key(account))
        if address is not None:
            keys.append(self.address_key(address))
        for key in keys:
            await self.cache.delete(f"{key}:lock")
            await self.cache.delete(key)

    def lock_seconds(self, beyond: int) -> int:
        """The lock after ``beyond`` failures past the threshold (0: the first lock)."""
        doublings = min(max(beyond, 0), self._max_doublings)
        return min(self.settings.base_lock_s << doublings, self.settings.max_lock_s)

    def account_key(self, account: str) -> str:
        """The counter's key for ``account``: case- and space-insensitive, hashed (no e-mail
        address in the cache's key space, and a bounded key length whatever is sent)."""
        normal = account.strip().casefold().encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(normal, digest_size=16).hexdigest()
        return f"{self.settings.key_prefix}account:{digest}"

    def address_key(self, address: str) -> str:
        """The counter's key for a client address: IPv6 by its ``ipv6_prefix`` network (one
        host holds a whole /64), an IPv4-mapped IPv6 address as the IPv4 one."""
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            digest = hashlib.blake2b(address.encode("utf-8", "surrogatepass"), digest_size=16)
            return f"{self.settings.key_prefix}address:?{digest.hexdigest()}"
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            else:
                net = ipaddress.IPv6Network((ip, self.settings.ipv6_prefix), strict=False)
                return f"{self.settings.key_prefix}address:{net.compressed}"
        return f"{self.settings.key_prefix}address:{ip.compressed}"

    async def _refuse_if_locked(self, keys: list[tuple[str, str]]) -> None:
        ends = await asyncio.gather(*(self.cache.get(f"{key}:lock") for _, key in keys))
        now = self._clock()
        waits = [
            (until - now, scope)
            for (scope, _), until in zip(keys, ends, strict=True)
            if isinstance(until, int | float) and until > now
        ]
        if not waits:
            return
        wait, scope = max(waits)
        retry_after_s = max(1, math.ceil(wait))
        if self.events.listening["refuse"]:
            self.events.emit("refuse", scope=scope, retry_after_s=retry_after_s)
        raise TooManyAttempts(scope, retry_after_s)
