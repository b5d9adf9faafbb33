"""The ``redis`` plugin: Redis-backed drivers. Registers the ``redis`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .lock import RedisLock, RedisLockOptions
from .store import RedisStore, RedisStoreOptions

plugin = PluginSpec(
    name="redis",
    description="Redis drivers: lock (Redlock with fencing tokens), session, cache",
    provides=("lock", "session", "cache"),
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
    for kind in ("session", "cache"):
        registry.adapter_driver(
            kind,
            "redis",
            RedisStore,
            options=RedisStoreOptions,
            description="JSON values with TTLs on Redis",
        )


__all__ = ["RedisLock", "RedisLockOptions", "RedisStore", "RedisStoreOptions", "plugin"]
