"""``mega serve`` and ``mega routes``."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

import typer


class Server(enum.StrEnum):
    """What ``mega serve --server`` runs (``servers.SERVERS``)."""

    uvicorn = "uvicorn"
    granian = "granian"


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Interface (default [plugins.http] host).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default [plugins.http] port).")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    server: Annotated[
        Server, typer.Option(help="The ASGI server (granian: the granian extra).")
    ] = Server.uvicorn,
    access_log: Annotated[
        bool, typer.Option(help="A log line per request (info; with its request id).")
    ] = True,
) -> None:
    """Serve the app over HTTP; SIGINT/SIGTERM shut it down gracefully."""
    from pathlib import Path

    from mega import App

    from . import HttpSettings
    from .asgi import MegaASGI
    from .servers import ServeOptions, serve

    app = App.from_project()
    MegaASGI(app)  # fail now, with a clear message, when the http plugin is not enabled
    settings = app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    options = ServeOptions(
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers,
        reload=reload,
        root=app.config.root or Path.cwd(),
        shutdown_timeout_s=app.config.app.shutdown_timeout_ms / 1000,
        access_log=access_log,
        http=settings,
        ws=app.plugin_config("ws") if "ws" in {p.name for p in app.plugins} else None,
    )
    serve(server.value, options)


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
