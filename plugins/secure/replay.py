"""``ReplayGuard``: a nonce is accepted once, by every process sharing the cache.

A message is fresh when its timestamp is within ``skew`` of the server's clock, so a nonce only
needs remembering for as long as a message carrying it could still be fresh: ``2 * skew`` (a
timestamp ``skew`` ahead stays fresh until ``skew`` after it). The check is one atomic
``Cache.incr(key, ttl_ms=...)``: the first caller creates the key and reads 1, any later one
(in this process or another on the same Redis or file store) reads more — a set-if-absent that
every cache driver implements atomically.
"""

from __future__ import annotations

from mega import Cache

from . import errors

#: the replay cache's key prefix (the cache driver adds its own, e.g. redis ``mega:``)
PREFIX = "secure:nonce:"


class ReplayGuard:
    """Freshness (timestamp within the skew window) and single use (nonce) of messages."""

    __slots__ = ("cache", "skew_ms", "ttl_ms")

    def __init__(self, cache: Cache, skew_s: float) -> None:
        self.cache = cache
        self.skew_ms = int(skew_s * 1000)
        self.ttl_ms = 2 * self.skew_ms + 1000

    def check_fresh(self, ts: int, now_ms: int) -> None:
        """``secure.stale`` when ``ts`` is further than the skew from ``now_ms``."""
        if abs(now_ms - ts) > self.skew_ms:
            raise errors.stale(ts, now_ms, self.skew_ms / 1000)

    async def check_unused(self, nonce: str) -> None:
        """Record ``nonce`` (hex); ``secure.replayed`` if it was recorded before. Call it
        only for a message that authenticated, so forgeries cannot burn nonces."""
        if await self.cache.incr(PREFIX + nonce, 1, ttl_ms=self.ttl_ms) != 1:
            raise errors.replayed()
