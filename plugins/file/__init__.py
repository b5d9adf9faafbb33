"""The ``file`` plugin: ``session`` and ``cache`` drivers storing each key as a file.

Embedded (no server) and shared by every process on one host: the store to pick for server-side
HTTP sessions when the app runs several workers on one machine without Redis.
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .store import FileStore, FileStoreOptions

plugin = PluginSpec(
    name="file",
    description="File-per-key session and cache drivers (one host, any number of processes)",
    provides=("session", "cache"),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    for kind in ("session", "cache"):
        registry.adapter_driver(
            kind,
            "file",
            FileStore,
            options=FileStoreOptions,
            description="one JSON file per key, with expiry",
        )


__all__ = ["FileStore", "FileStoreOptions", "plugin"]
