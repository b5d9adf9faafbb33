"""The ``postgres`` plugin: PostgreSQL drivers. Registers the ``postgres`` db driver and dialect
(asyncpg, pooled) and the ``postgres`` lock driver."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .database import PostgresDatabase, PostgresDialect, PostgresOptions
from .lock import PostgresLock, PostgresLockOptions

plugin = PluginSpec(
    name="postgres",
    description="PostgreSQL: db adapter and dialect (asyncpg), lock (fencing tokens)",
    provides=("db", "lock"),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "db",
        "postgres",
        PostgresDatabase,
        options=PostgresOptions,
        description="PostgreSQL through asyncpg's pool; transactional DDL, partitions",
    )
    registry.dialect("postgres", PostgresDialect)
    registry.adapter_driver(
        "lock",
        "postgres",
        PostgresLock,
        options=PostgresLockOptions,
        description="lock table on the database clock, fencing tokens, auto-extension",
    )


__all__ = [
    "PostgresDatabase",
    "PostgresDialect",
    "PostgresLock",
    "PostgresLockOptions",
    "PostgresOptions",
    "plugin",
]
