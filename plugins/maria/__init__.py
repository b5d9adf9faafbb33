"""The ``maria`` plugin: MariaDB and MySQL. Registers the ``maria`` db driver and dialect
(asyncmy, pooled)."""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .database import MariaDatabase, MariaDialect, MariaOptions

plugin = PluginSpec(
    name="maria",
    description="MariaDB / MySQL: db adapter and dialect (asyncmy)",
    provides=("db",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "db",
        "maria",
        MariaDatabase,
        options=MariaOptions,
        description="MariaDB or MySQL through asyncmy's pool",
    )
    registry.dialect("maria", MariaDialect)


__all__ = ["MariaDatabase", "MariaDialect", "MariaOptions", "plugin"]
