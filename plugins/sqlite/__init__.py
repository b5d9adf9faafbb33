"""The ``sqlite`` plugin: embedded SQLite drivers. Registers the ``sqlite`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .lock import SqliteLock, SqliteLockOptions

plugin = PluginSpec(
    name="sqlite",
    description="Embedded SQLite drivers: lock (correct across processes on one host)",
    provides=("lock",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "lock",
        "sqlite",
        SqliteLock,
        options=SqliteLockOptions,
        description="lock table in a SQLite file shared by the processes of one host",
    )


__all__ = ["SqliteLock", "SqliteLockOptions", "plugin"]
