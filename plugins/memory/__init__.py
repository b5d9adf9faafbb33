"""The ``memory`` plugin: in-process ``cache`` and ``session`` drivers, the embedded default.

Values live in the process (no server): right for one process and for tests. Entries expire after
their TTL and the least recently used entry is evicted past ``max_entries``.
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .cache import MemoryCache, MemoryCacheOptions

plugin = PluginSpec(
    name="memory",
    description="In-process cache driver (the embedded default for the cache kind)",
    provides=("cache", "session"),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "cache",
        "memory",
        MemoryCache,
        options=MemoryCacheOptions,
        description="in-process LRU cache with per-entry TTL",
    )
    # the same store serves server-side HTTP sessions on one process
    registry.adapter_driver(
        "session",
        "memory",
        MemoryCache,
        options=MemoryCacheOptions,
        description="in-process session store (one process)",
    )


__all__ = ["MemoryCache", "MemoryCacheOptions", "plugin"]
