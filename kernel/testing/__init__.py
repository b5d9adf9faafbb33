"""Test helpers for mega apps and plugins (also a pytest plugin: fixtures ``app``, ``mega_config``).

``boot_app(config)`` boots an app from a config mapping shaped like ``mega.toml`` and shuts it
down when the block ends::

    async with boot_app({"app": {"plugins": ["memory"]},
                         "adapters": {"cache": {"default": {"driver": "memory"}}}}) as app:
        await app.ctx().cache().set("k", 1)
"""

from __future__ import annotations

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


async def fire_schedule(app: App, schedule: type | str) -> Any:
    """Fire a schedule of a booted app now (through its lock); returns the final event.

    The event is ``done`` (``event.result`` is what ``run`` returned), ``fail`` (``event.error``)
    or ``skip`` (``event.reason``). Needs the ``schedule`` plugin enabled.
    """
    scheduler = _extension(app, "schedule", "fire_schedule")
    name = schedule if isinstance(schedule, str) else schedule.__name__
    return await scheduler.fire_now(name)


async def run_job(app: App, job: type, payload: Any, *, retries: bool = False) -> Any:
    """Run a job of a booted app in-process, as a worker would, and return its result.

    The payload makes the same JSON round trip it makes through a bus, so a payload a real
    enqueue would refuse fails here too. The first failure is raised; ``retries=True`` applies
    the job's retries and backoff first. Needs the ``jobs`` plugin enabled (no bus is used).
    """
    _extension(app, "jobs", "run_job")
    import json

    from mega.plugins.jobs import JobCtx  # type: ignore[import-not-found]
    from mega.plugins.jobs.queue import encode  # type: ignore[import-not-found]
    from mega.plugins.jobs.retry import RetryPolicy, with_retry  # type: ignore[import-not-found]

    decoded = json.loads(encode(payload, what=f"run_job({job.__name__})"))
    instance = job()
    ctx = JobCtx(app, job.subject, 0, 1)  # type: ignore[attr-defined]
    policy = job._retry if retries else RetryPolicy(0, job._retry.backoff)  # type: ignore[attr-defined]
    return await with_retry(lambda: instance.run(decoded, ctx), policy)


def __getattr__(name: str) -> Any:
    # helpers that live with their plugin, re-exported here: imported on first use, so
    # importing mega.testing imports no plugin
    if name == "apply_migrations":
        from mega.plugins.db.testing import (  # type: ignore[import-not-found]
            apply_migrations,
        )

        return apply_migrations
    raise AttributeError(f"module 'mega.testing' has no attribute {name!r}")


def http_client(app: App, *, base_url: str = "http://testserver") -> Any:
    """An ``httpx.AsyncClient`` calling a booted app's ASGI application in-process."""
    import httpx

    runtime = _extension(app, "http", "http_client")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.asgi), base_url=base_url)


@asynccontextmanager
async def scratch_db(*models: type, path: str = ":memory:") -> AsyncIterator[Any]:
    """A connected embedded SQLite ``db`` adapter with a table per model, closed after the block.

    For unit tests of models and services; an app's own tests get ``ctx.db()`` from ``app``."""
    from mega.plugins.db import CreateTable  # type: ignore[import-not-found]
    from mega.plugins.sqlite import SqliteDatabase, SqliteOptions  # type: ignore[import-not-found]

    db = SqliteDatabase(alias="scratch", options=SqliteOptions(path=path))
    await db.connect()
    try:
        await db.apply([CreateTable(model.table_def()) for model in models])  # type: ignore[attr-defined]
        yield db
    finally:
        await db.close()


def _extension(app: App, plugin: str, helper: str) -> Any:
    found = app.extensions.get(plugin)
    if found is None:
        from mega.errors import MegaConfigError

        raise MegaConfigError(
            "plugin.not_enabled",
            f"{helper} needs the {plugin!r} plugin: add it to [app].plugins",
            {"plugin": plugin},
        )
    return found


from .websocket import WsClient, WsReplyError, serve_http, ws_connect  # noqa: E402

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
