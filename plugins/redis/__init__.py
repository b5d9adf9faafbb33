"""The ``redis`` plugin: Redis-backed drivers for the lock, session, cache and presence kinds."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .lock import RedisLock, RedisLockOptions
from .presence import RedisLink, RedisLinkOptions
from .store import RedisStore, RedisStoreOptions

plugin = PluginSpec(
    name="redis",
    description="Redis drivers: lock (Redlock with fencing tokens), session, cache, presence",
    provides=("lock", "session", "cache", "presence"),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "lock",
        "redis",
        RedisLock,
        options=RedisLockOptions,
        description="Redlock on one or more masters, fencing tokens, auto-extension",
    )
    registry.adapter_driver(
        "presence",
        "redis",
        RedisLink,
        options=RedisLinkOptions,
        description="Redis pub/sub between the ws plugin's nodes",
    )
    for kind in ("session", "cache"):
        registry.adapter_driver(
            kind,
            "redis",
            RedisStore,
            options=RedisStoreOptions,
            description="JSON values with TTLs on Redis",
        )


__all__ = [
    "RedisLink",
    "RedisLinkOptions",
    "RedisLock",
    "RedisLockOptions",
    "RedisStore",
    "RedisStoreOptions",
    "plugin",
]
