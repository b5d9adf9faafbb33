"""The ``http`` plugin: a mega app as an ASGI application (Starlette routing, uvicorn serving).

Routes in ``apps/<app>/routes/*.py`` point at controller methods; handlers get ``ctx`` and
validated path/query/body values and return data (wrapped in the envelope) or a Response.
See docs/http.md.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mega import App, PluginRegistry, PluginSpec, hookimpl

from . import hooks
from .context import HttpCtx
from .hooks import ERROR_KEY, TRACE_KEY, RequestObserver, RequestWrapper
from .responses import fail
from .routing import Route, delete, get, patch, post, put, route
from .sessions import Session
from .settings import CorsSettings, HttpSettings, SecurityHeaders, SessionSettings

#: set by `mega serve --workers N` in each worker: the directory they share (the metrics
#: plugin sums their series at scrape)
WORKERS_DIR_ENV = "MEGA_SERVE_WORKERS_DIR"

plugin = PluginSpec(
    name="http",
    description="ASGI app: routes, controllers, validation, envelope, OpenAPI, security",
    provides=("http",),
    config=HttpSettings,
    hooks=hooks,
)


class HttpRuntime(NamedTuple):
    """``app.extensions["http"]``: the ASGI app and the compiled routes."""

    asgi: Any
    compiled: list[Any]
    settings: HttpSettings
    translations: Any
    views: Any
    #: the request observers and wrappers, collected at boot (mega_http_observer,
    #: mega_http_wrap_request)
    observers: Any = None


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from .cli import routes_command, serve_command
    from .generators import register_generators

    register_generators(registry)
    registry.command("serve", serve_command, help="Serve the app over HTTP (uvicorn).")
    registry.command("routes", routes_command, help="List the app's routes.")


@hookimpl
def mega_before_boot(app: App) -> None:
    from .application import Observers, asgi_routes, build, static_routes
    from .i18n import Translations
    from .openapi import openapi_routes
    from .templates import Views

    settings = app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    holder: dict[str, Any] = {}
    extra = [*openapi_routes(app, settings, holder), *static_routes(app, settings)]
    # plugins serving more than request/response routes (the ws plugin's WebSocket endpoint)
    extra += [r for _plugin, r in asgi_routes(app)]
    observers = Observers()
    asgi, compiled = build(app, settings, extra, observers)
    holder["compiled"] = compiled
    translations = Translations.load(
        app.config.root, settings.i18n.default_locale, settings.i18n.cookie_name
    )
    views = Views(app.config.root, {c.route.name: c.route.path for c in compiled})
    if settings.error_page:
        views.require(settings.error_page, "[plugins.http] error_page")
    app.extensions["http"] = HttpRuntime(asgi, compiled, settings, translations, views, observers)


@hookimpl
def mega_after_boot(app: App) -> None:
    # every plugin's mega_before_boot has run: their observers can use what they prepared
    app.extensions["http"].observers.install(app)


def translate(app: App, locale: str, key: str, **variables: Any) -> str:
    """``key`` in ``locale`` from the app's catalogs (``apps/*/locales/server/<lang>.json``),
    outside a request: a job's e-mail, a schedule's report. Falls back like ``ctx.t``: the
    default locale, then ``[missing: key]``. Needs the http plugin enabled (not serving)."""
    runtime: HttpRuntime = app.extension("http", needed_by="translate() (it loads the catalogs)")
    return str(runtime.translations.translate(locale, key, variables))


__all__ = [
    "ERROR_KEY",
    "TRACE_KEY",
    "WORKERS_DIR_ENV",
    "CorsSettings",
    "HttpCtx",
    "HttpRuntime",
    "HttpSettings",
    "RequestObserver",
    "RequestWrapper",
    "Route",
    "SecurityHeaders",
    "Session",
    "SessionSettings",
    "delete",
    "fail",
    "get",
    "patch",
    "plugin",
    "post",
    "put",
    "route",
    "translate",
]
