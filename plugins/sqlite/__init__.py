"""The ``sqlite`` plugin: the embedded defaults. Registers the ``sqlite`` db driver and dialect
(aiosqlite; WAL, foreign keys on, busy timeout) and the ``sqlite`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .database import SqliteDatabase, SqliteDialect, SqliteOptions
from .lock import SqliteLock, SqliteLockOptions

plugin = PluginSpec(
    name="sqlite",
    description="Embedded SQLite: db adapter and dialect, lock (across processes on one host)",
    provides=("db", "lock"),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "db",
        "sqlite",
        SqliteDatabase,
        options=SqliteOptions,
        description="embedded SQLite file (aiosqlite): WAL, foreign keys, busy timeout",
    )
    registry.dialect("sqlite", SqliteDialect)
    registry.adapter_driver(
        "lock",
        "sqlite",
        SqliteLock,
        options=SqliteLockOptions,
        description="lock table in a SQLite file shared by the processes of one host",
    )


__all__ = [
    "SqliteDatabase",
    "SqliteDialect",
    "SqliteLock",
    "SqliteLockOptions",
    "SqliteOptions",
    "plugin",
]
