"""Brute-force protection for sign-in: per account and per client address, with back-off.

Failures are counted in the cache (``incr``: atomic across processes — memory on one machine,
Redis across many). Past a threshold the account (or address) is locked, for
``base_lock_s * 2**(failures - threshold)`` seconds up to ``max_lock_s``: each failure after a
lock lifts doubles the next one. While locked no password is checked, so a locked account cannot
be probed. A success clears the account's count (not the address's: one good password must not
reset an attacker's budget across accounts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mega import Ctx

from .errors import TooManyAttempts


@dataclass(frozen=True)
class Policy:
    account_threshold: int = 5
    address_threshold: int = 20
    window_s: int = 900
    base_lock_s: int = 30
    max_lock_s: int = 900


class LoginGuard:
    def __init__(self, ctx: Ctx, policy: Policy = Policy()) -> None:
        self.cache = ctx.cache()
        self.policy = policy

    def _keys(self, email: str, address: str) -> list[tuple[str, str, int]]:
        return [
            ("account", f"login:account:{email.lower()}", self.policy.account_threshold),
            ("address", f"login:address:{address}", self.policy.address_threshold),
        ]

    async def check(self, email: str, address: str) -> None:
        """Raise ``TooManyAttempts`` while the account or the address is locked."""
        now = time.time()
        for scope, key, _ in self._keys(email, address):
            until = await self.cache.get(f"{key}:locked")
            if until is not None and until > now:
                raise TooManyAttempts(scope, max(1, round(until - now)))

    async def failed(self, email: str, address: str) -> None:
        """Count a failure; lock what crossed its threshold."""
        for _, key, threshold in self._keys(email, address):
            failures = await self.cache.incr(key, ttl_ms=self.policy.window_s * 1000)
            if failures >= threshold:
                lock_s = min(
                    self.policy.base_lock_s * 2 ** (failures - threshold), self.policy.max_lock_s
                )
                await self.cache.set(f"{key}:locked", time.time() + lock_s, ttl_ms=lock_s * 1000)

    async def succeeded(self, email: str) -> None:
        key = self._keys(email, "")[0][1]
        await self.cache.delete(key)
