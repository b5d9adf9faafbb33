"""``duckdb``: a mega plugin registering a DuckDB ``db`` adapter driver and its dialect.

Written only against mega's public db contract (``mega.plugins.db``); see docs/dialects.md in
mega's repository, which walks through this package.
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .database import DuckDatabase, DuckDialect, DuckOptions

plugin = PluginSpec(
    name="duckdb",
    description="DuckDB (embedded, columnar): db adapter and dialect",
    provides=("db",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "db", "duckdb", DuckDatabase, options=DuckOptions, description="embedded DuckDB file"
    )
    registry.dialect("duckdb", DuckDialect)


__all__ = ["DuckDatabase", "DuckDialect", "DuckOptions", "plugin"]
