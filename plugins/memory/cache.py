"""``MemoryCache``: an LRU dictionary with per-entry TTL, behind the cache adapter interface."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mega import MegaError, cache_count

_MISSING = object()


class MemoryCacheOptions(BaseModel):
    """``[adapters.cache.<alias>]`` keys for ``driver = "memory"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Past this many entries the least recently used one is evicted.
    max_entries: int = Field(default=10_000, gt=0)
    #: TTL applied when ``set`` gets none; 0 keeps entries until evicted.
    default_ttl_ms: int = Field(default=0, ge=0)


class MemoryCache:
    """An in-process cache. Values are stored as given (not copied, not serialised)."""

    def __init__(self, *, alias: str, options: MemoryCacheOptions) -> None:
        self.alias = alias
        self.options = options
        self._entries: OrderedDict[str, tuple[float, Any]] | None = None

    async def connect(self) -> None:
        self._entries = OrderedDict()

    async def close(self) -> None:
        self._entries = None

    async def health(self) -> dict[str, int]:
        """Readiness check: connected; reports the number of entries."""
        return {"entries": len(self._live())}

    async def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when absent or expired."""
        entries = self._live()
        found = entries.get(key)
        if found is None:
            return default
        expires, value = found
        if expires and expires <= time.monotonic():
            del entries[key]
            return default
        entries.move_to_end(key)
        return value

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        """Store ``value``; ``ttl_ms`` (default: the adapter's ``default_ttl_ms``; 0 = none)."""
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        if ttl < 0:
            raise MegaError(
                "cache.invalid_ttl",
                f"ttl_ms must be >= 0, got {ttl}",
                {"ttl_ms": ttl},
                http_status=500,
            )
        entries = self._live()
        entries[key] = (time.monotonic() + ttl / 1000 if ttl else 0.0, value)
        entries.move_to_end(key)
        while len(entries) > self.options.max_entries:
            entries.popitem(last=False)

    async def incr(self, key: str, amount: int = 1, *, ttl_ms: int | None = None) -> int:
        """Add ``amount`` to the integer under ``key`` (absent: 0) and return the new value.

        ``ttl_ms`` applies when the key is created and is not extended by later increments: a
        fixed window, what rate limits and lockouts count in.
        """
        current = await self.get(key, _MISSING)
        if current is _MISSING:
            await self.set(key, amount, ttl_ms=ttl_ms)
            return amount
        value = cache_count(self.alias, key, current) + amount
        entries = self._live()
        entries[key] = (entries[key][0], value)  # the expiry stays: a fixed window
        return value

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was present (and not expired)."""
        present = await self.get(key, _MISSING) is not _MISSING
        self._live().pop(key, None)
        return present

    async def clear(self) -> None:
        self._live().clear()

    def _live(self) -> OrderedDict[str, tuple[float, Any]]:
        if self._entries is None:
            raise MegaError(
                "adapter.not_connected",
                f"cache adapter {self.alias!r} is not connected: use it between boot and "
                "shutdown (inside `async with app:` or a handler)",
                {"alias": self.alias},
            )
        return self._entries
