"""Test helpers for mega apps and plugins (also a pytest plugin: fixtures ``app``, ``mega_config``).

The kernel's own live here (``boot_app``, the fixtures, the lock conformance suite); the helpers
of a plugin live with it (``mega.plugins.jobs.testing.run_job``…) and are re-exported here.

``boot_app(config)`` boots an app from a config mapping shaped like ``mega.toml`` and shuts it
down when the block ends::

    async with boot_app({"app": {"plugins": ["memory"]},
                         "adapters": {"cache": {"default": {"driver": "memory"}}}}) as app:
        await app.ctx().cache().set("k", 1)
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mega.app import App


@asynccontextmanager
async def boot_app(
    config: Mapping[str, Any] | None = None,
    *,
    root: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[App]:
    """Boot an app from ``config`` (or from ``<root>/mega.toml`` when config is None)."""
    if config is None:
        if root is None:
            raise TypeError("boot_app needs a config mapping or a project root")
        app = App.from_project(root, environ=environ)
    else:
        app = App.from_dict(config, root=root, environ=environ)
    async with app:
        yield app


#: helpers that live with their plugin, re-exported here: imported on first use, so importing
#: mega.testing imports no plugin
_PLUGIN_HELPERS = {
    "apply_migrations": "mega.plugins.db.testing",
    "scratch_db": "mega.plugins.sqlite.testing",
    "run_job": "mega.plugins.jobs.testing",
    "fire_schedule": "mega.plugins.schedule.testing",
    "http_client": "mega.plugins.http.testing",
    "serve_http": "mega.plugins.http.testing",
    "WsClient": "mega.plugins.ws.testing",
    "WsReplyError": "mega.plugins.ws.testing",
    "ws_connect": "mega.plugins.ws.testing",
}


def __getattr__(name: str) -> Any:
    module = _PLUGIN_HELPERS.get(name)
    if module is None:
        raise AttributeError(f"module 'mega.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "WsClient",
    "WsReplyError",
    "apply_migrations",
    "boot_app",
    "fire_schedule",
    "http_client",
    "run_job",
    "scratch_db",
    "serve_http",
    "ws_connect",
]
