"""mega plugin `{{ name }}`: a `cache` adapter driver.

It implements `mega.Cache`, the cache kind's contract (get, set, incr, delete, with expiry);
the app checks it when it builds the adapter. Replace the dictionary below with a client for
your backend; keep `connect` and `close` async and import heavy client libraries inside
`connect`, so that `mega --help` stays fast.
"""

from __future__ import annotations

import time
from typing import Any

from mega import PluginRegistry, PluginSpec, cache_count, hookimpl
from pydantic import BaseModel, ConfigDict


class {{ Name }}Options(BaseModel):
    """Keys of `[adapters.cache.<alias>]` when `driver = "{{ name }}"`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = ""
    #: expiry of a value set without ttl_ms (0: none)
    default_ttl_ms: int = 0


class {{ Name }}Cache:
    """A cache adapter: `ctx.cache(alias)` returns this object."""

    def __init__(self, *, alias: str, options: {{ Name }}Options) -> None:
        self.alias = alias
        self.options = options
        #: key -> (expires at, monotonic seconds; 0: never, value)
        self._data: dict[str, tuple[float, Any]] | None = None

    async def connect(self) -> None:
        self._data = {}

    async def close(self) -> None:
        self._data = None

    async def get(self, key: str, default: Any = None) -> Any:
        found = self._live(key)
        return default if found is None else found[1]

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        self._store()[self.options.prefix + key] = (self._expiry(ttl_ms), value)

    async def incr(self, key: str, amount: int = 1, *, ttl_ms: int | None = None) -> int:
        found = self._live(key)
        if found is None:
            found = (self._expiry(ttl_ms), 0)
        count = cache_count(self.alias, key, found[1]) + amount
        self._store()[self.options.prefix + key] = (found[0], count)
        return count

    async def delete(self, key: str) -> bool:
        return self._store().pop(self.options.prefix + key, None) is not None

    def _live(self, key: str) -> tuple[float, Any] | None:
        found = self._store().get(self.options.prefix + key)
        if found is not None and found[0] and found[0] <= time.monotonic():
            del self._store()[self.options.prefix + key]
            return None
        return found

    def _expiry(self, ttl_ms: int | None) -> float:
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        return time.monotonic() + ttl / 1000 if ttl else 0.0

    def _store(self) -> dict[str, tuple[float, Any]]:
        if self._data is None:
            raise RuntimeError(f"cache {self.alias!r} is not connected")
        return self._data


plugin = PluginSpec(name="{{ name }}", description="The {{ name }} cache driver")


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver("cache", "{{ name }}", {{ Name }}Cache, options={{ Name }}Options)
