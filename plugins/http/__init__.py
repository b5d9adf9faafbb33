"""The ``http`` plugin: a mega app as an ASGI application (Starlette routing, uvicorn serving).

Routes in ``apps/<app>/routes/*.py`` point at controller methods; handlers get ``ctx`` and
validated path/query/body values and return data (wrapped in the envelope) or a Response.
See docs/http.md.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mega import App, PluginRegistry, PluginSpec, hookimpl

from .context import HttpCtx
from .routing import Route, delete, get, patch, post, put, route
from .settings import CorsSettings, HttpSettings, SecurityHeaders, SessionSettings

plugin = PluginSpec(
    name="http",
    description="ASGI app: routes, controllers, validation, envelope, OpenAPI, security",
    provides=("http",),
    config=HttpSettings,
)


class HttpRuntime(NamedTuple):
    """``app.extensions["http"]``: the ASGI app and the compiled routes."""

    asgi: Any
    compiled: list[Any]
    settings: HttpSettings


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from .cli import routes_command, serve_command

    registry.command("serve", serve_command, help="Serve the app over HTTP (uvicorn).")
    registry.command("routes", routes_command, help="List the app's routes.")


@hookimpl
def mega_before_boot(app: App) -> None:
    from .application import build
    from .openapi import openapi_routes

    settings = app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    holder: dict[str, Any] = {}
    asgi, compiled = build(app, settings, openapi_routes(app, settings, holder))
    holder["compiled"] = compiled
    app.extensions["http"] = HttpRuntime(asgi, compiled, settings)


__all__ = [
    "CorsSettings",
    "HttpCtx",
    "HttpRuntime",
    "HttpSettings",
    "Route",
    "SecurityHeaders",
    "SessionSettings",
    "delete",
    "get",
    "patch",
    "plugin",
    "post",
    "put",
    "route",
]
