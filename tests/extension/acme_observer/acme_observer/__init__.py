"""An APM-style plugin written against mega's public plugin API only: it observes every HTTP
request, job run, schedule fire and database statement through the hooks the http, jobs,
schedule and db plugins declare, whatever else (metrics, tracing) is enabled."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mega import App, PluginSpec, hookimpl

plugin = PluginSpec(name="acme-observer", description="Records what the app does")


def seen(app: App) -> list[tuple[str, ...]]:
    """What this app was seen doing, in order."""
    found: list[tuple[str, ...]] = app.extensions.setdefault("acme-observer", [])
    return found


@hookimpl
def mega_http_observer(app: App) -> Any:
    def observe(scope: Any, route: str, status: int, seconds: float) -> None:
        seen(app).append(("request", scope["method"], route, str(status)))

    return observe


@hookimpl
def mega_jobs_wrap_run(app: App) -> Any:
    @contextlib.contextmanager
    def run(subject: str, delivery: Any) -> Iterator[None]:
        seen(app).append(("run", subject))
        yield

    return run


@hookimpl
def mega_jobs_listeners(app: App) -> Any:
    return {"done": lambda event: seen(app).append(("job-done", event.subject))}


@hookimpl
def mega_schedule_wrap_fire(app: App) -> Any:
    @contextlib.contextmanager
    def fire(name: str, fire_time: Any) -> Iterator[None]:
        seen(app).append(("fire", name))
        yield

    return fire


@hookimpl
def mega_db_wrap_query(app: App) -> Any:
    @contextlib.contextmanager
    def query(database: Any, sql: str) -> Iterator[None]:
        seen(app).append(("query", database.alias, sql))
        yield

    return query
