"""``mega serve`` and ``mega routes``."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

import typer

# `mega serve --workers N` (N > 1) sets it for its workers: a private directory where they
# find each other (the metrics plugin sums their metrics in one scrape through it)
from . import WORKERS_DIR_ENV

UVICORN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        name: {"level": "INFO", "handlers": [], "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    },
}


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Interface (default [plugins.http] host).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default [plugins.http] port).")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the app over HTTP with uvicorn; SIGINT/SIGTERM shut it down gracefully."""
    import uvicorn

    from mega import App

    from . import HttpSettings
    from .asgi import MegaASGI

    app = App.from_project()
    MegaASGI(app)  # fail now, with a clear message, when the http plugin is not enabled
    settings = app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    root = app.config.root
    with _worker_peers(workers):
        uvicorn.run(
            "mega.plugins.http.asgi:create_app",
            factory=True,
            host=host or settings.host,
            port=port if port is not None else settings.port,
            reload=reload,
            workers=workers,
            lifespan="on",
            app_dir=str(root),
            reload_dirs=[str(root)] if reload else None,
            log_level="info",
            # uvicorn's own loggers hand their records to the root logger, which mega routes into
            # structlog: one format (JSON lines off a TTY) for the whole process
            log_config=UVICORN_LOGGING,
            # requests in flight get what the one shutdown deadline allows; the app's own phases
            # (job drains, adapters, telemetry) then run within what is left of it
            # uvicorn annotates int but only hands it to asyncio.timeout, which takes a float
            timeout_graceful_shutdown=app.config.app.shutdown_timeout_ms / 1000,  # type: ignore[arg-type]
            **_websocket_options(app),
            **_http_options(settings),
        )


@contextlib.contextmanager
def _worker_peers(workers: int) -> Iterator[None]:
    """With several workers, a private directory where they find each other (one /metrics
    scrape sums them all); removed when the server exits."""
    if workers < 2:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="mega-workers-") as directory:
        os.environ[WORKERS_DIR_ENV] = directory  # the workers inherit it
        try:
            yield
        finally:
            os.environ.pop(WORKERS_DIR_ENV, None)


def _http_options(settings: Any) -> dict[str, Any]:
    """The protocol (request heads bounded: 431) and whose forwarded headers to believe."""
    from .protocol import LimitedHttpToolsProtocol

    proxies = list(settings.trusted_proxies)
    return {
        # a partial of a module-level class: it pickles into `--workers N` processes
        "http": functools.partial(
            LimitedHttpToolsProtocol,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
        ),
        # uvicorn would otherwise believe X-Forwarded-For / -Proto from 127.0.0.1 (or
        # $FORWARDED_ALLOW_IPS): any local process could claim any client address and https
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }


def _websocket_options(app: Any) -> dict[str, Any]:
    """uvicorn's WebSocket options from [plugins.ws] when the ws plugin is enabled."""
    if "ws" not in {p.name for p in app.plugins}:
        return {"ws": "none"}  # no WebSocket routes: refuse upgrades outright
    ws = app.plugin_config("ws")
    return {
        "ws_per_message_deflate": ws.compression,
        # frames far above the app's own limit are refused before they are buffered; those
        # just above it reach the app, which closes with a reason naming the limit
        "ws_max_size": ws.max_message_bytes * 4 + 1024,
    }


def _plugin_asgi_rows(app: Any) -> list[dict[str, Any]]:
    """Routes plugins serve outside the controller pipeline (the ws plugin's WebSocket)."""
    from starlette.routing import Route, WebSocketRoute

    from .application import asgi_routes

    rows = []
    for plugin, route in asgi_routes(app):
        endpoint = route.endpoint
        # a function names itself; an ASGI app instance is named by its class
        target = endpoint if hasattr(endpoint, "__qualname__") else type(endpoint)
        handler = f"{target.__module__}:{target.__qualname__}"
        if isinstance(route, WebSocketRoute):
            methods = ["WS"]
        elif isinstance(route, Route):
            methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        else:
            continue
        rows += [
            {
                "method": method,
                "path": route.path,
                "name": route.name,
                "handler": handler,
                "middleware": [],
                "plugin": plugin,
            }
            for method in methods
        ]
    return rows


def routes_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every route: method, path, name, handler, middleware."""
    from mega import App

    from . import HttpSettings
    from .application import build
    from .openapi import openapi_routes

    app = App.from_project()
    settings = app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    _, compiled = build(app, settings, openapi_routes(app, settings, {}))
    rows: list[dict[str, Any]] = [
        {
            "method": c.route.method,
            "path": c.route.path,
            "name": c.route.name,
            "handler": c.handler_name,
            "middleware": [type(m).__name__ for m in c.middleware],
        }
        for c in compiled
    ]
    rows += _plugin_asgi_rows(app)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("method", "path", "name", "handler", "middleware", box=None)
    table.columns[3].overflow = "fold"
    for row in rows:
        table.add_row(
            row["method"],
            row["path"],
            row["name"],
            row["handler"],
            ", ".join(row["middleware"]) or "-",
        )
    Console().print(table)
