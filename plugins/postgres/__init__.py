"""The ``postgres`` plugin: PostgreSQL-backed drivers. Registers the ``postgres`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .lock import PostgresLock, PostgresLockOptions

plugin = PluginSpec(
    name="postgres",
    description="PostgreSQL drivers: lock (lock table with fencing tokens)",
    provides=("lock",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "lock",
        "postgres",
        PostgresLock,
        options=PostgresLockOptions,
        description="lock table on the database clock, fencing tokens, auto-extension",
    )


__all__ = ["PostgresLock", "PostgresLockOptions", "plugin"]
