"""The ``file`` plugin: ``session`` and ``cache`` drivers storing each key as a file, and the
``file`` log sink (events at or above a level, appended as JSON lines).

Embedded (no server) and shared by every process on one host: the store to pick for server-side
HTTP sessions when the app runs several workers on one machine without Redis.
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .sink import FileLogSink, FileLogSinkOptions
from .store import FileStore, FileStoreOptions

plugin = PluginSpec(
    name="file",
    description="File-per-key session and cache drivers; a JSON-lines log sink",
    provides=("session", "cache", "log-sink"),
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
    registry.adapter_driver(
        "log-sink",
        "file",
        FileLogSink,
        options=FileLogSinkOptions,
        description="events at or above a level, appended as JSON lines to a file",
    )


__all__ = ["FileLogSink", "FileLogSinkOptions", "FileStore", "FileStoreOptions", "plugin"]
