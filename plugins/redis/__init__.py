"""The ``redis`` plugin: Redis-backed drivers. Registers the ``redis`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .lock import RedisLock, RedisLockOptions

plugin = PluginSpec(
    name="redis",
    description="Redis drivers: lock (Redlock with fencing tokens)",
    provides=("lock",),
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


__all__ = ["RedisLock", "RedisLockOptions", "plugin"]
