"""Assembling the ASGI application of an app: router, endpoints, middleware layers."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Router
from starlette.routing import Route as StarletteRoute
from starlette.staticfiles import StaticFiles

from mega import MegaConfigError, get_logger, nest

from . import responses
from .handlers import Compiled, Endpoint, compile_route
from .hooks import RequestObserver, RequestWrapper
from .middleware import MegaHttpMiddleware
from .route_index import RouteIndex
from .routing import METHODS, Route, check_unique, discover_routes
from .sessions import SessionMiddleware
from .settings import HttpSettings

if TYPE_CHECKING:
    from mega import App


def collect_routes(app: App) -> list[tuple[str, Route]]:
    """The app's routes (``apps/*/routes/*.py``) and those plugins serve
    (``mega_http_routes``)."""
    found = discover_routes(app.config.root)
    for plugin, routes in app.hooks.collect_by_plugin("mega_http_routes", app=app):
        found.extend((f"plugin {plugin!r}", r) for r in routes)
    # deprecated: registry.contribute("route", ...) (one release)
    for name, entry in app.registry.contributions("route").items():
        found.append((f"plugin {entry.owner.plugin!r}", entry.value._replace(name=name)))
    check_unique(found)
    return found


def asgi_routes(app: App) -> list[tuple[str, Any]]:
    """The Starlette routes plugins serve as they are (``mega_http_asgi_routes``), each with
    the plugin serving it."""
    found = [
        (plugin, r)
        for plugin, routes in app.hooks.collect_by_plugin("mega_http_asgi_routes", app=app)
        for r in routes
    ]
    # deprecated: registry.contribute("asgi-routes", ...) (one release)
    for _name, entry in app.registry.contributions("asgi-routes").items():
        found.extend((entry.owner.plugin, r) for r in entry.value(app))
    return found


def load_middleware(spec: Any, where: str) -> Any:
    """A middleware object from ``"module:attribute"`` or a class/instance; classes are made."""
    target = spec
    if isinstance(spec, str):
        module_name, _, attr = spec.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise MegaConfigError(
                "http.invalid_middleware",
                f"{where}: middleware {spec!r} cannot be imported ({exc}); use "
                "'package.module:ClassName'",
                {"middleware": spec},
            ) from exc
    if isinstance(target, type):
        target = target()
    if not any(hasattr(target, phase) for phase in ("before", "after", "error")):
        raise MegaConfigError(
            "http.invalid_middleware",
            f"{where}: middleware {spec!r} has none of the methods before(ctx), "
            "after(ctx, response), error(ctx, exc)",
            {"middleware": repr(spec)},
        )
    return target


class CachedStaticFiles(StaticFiles):
    """Starlette's static files (ETag, Last-Modified, 304s, no path traversal) plus
    Cache-Control."""

    def __init__(self, directory: str, max_age: int) -> None:
        super().__init__(directory=directory)
        self.cache_control = f"public, max-age={max_age}"

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = self.cache_control
        return response


def static_routes(app: App, settings: HttpSettings) -> list[Any]:
    """A mount per ``[plugins.http] static`` entry whose folder exists."""
    root = app.config.root
    mounts = []
    for prefix, folder in settings.static.items():
        path = (root / folder) if root else None
        if path is not None and path.is_dir():
            mounts.append(
                Mount(
                    prefix,
                    CachedStaticFiles(str(path), settings.static_max_age_s),
                    name=f"static:{prefix}",
                )
            )
    return mounts


class Observers:
    """What watches requests: the ``mega_http_observer`` and ``mega_http_wrap_request``
    implementations, composed once at boot (``install``); None costs one check a request."""

    __slots__ = ("around", "observe")

    def __init__(self) -> None:
        #: the observers, in plugin order (None: none)
        self.observe: tuple[RequestObserver, ...] | None = None
        self.around: RequestWrapper | None = None

    def install(self, app: App) -> None:
        """Collect the implementations (after every plugin's ``mega_before_boot``)."""
        observers = tuple(app.hooks.collect("mega_http_observer", app=app))
        self.observe = observers or None
        self.around = _compose_around(app.hooks.collect("mega_http_wrap_request", app=app))


def _compose_around(wrappers: list[RequestWrapper]) -> RequestWrapper | None:
    if len(wrappers) <= 1:
        return wrappers[0] if wrappers else None
    nested = nest(wrappers)
    assert nested is not None

    @contextlib.contextmanager
    def around(scope: Any, route: str) -> Iterator[Callable[[int], None]]:
        with nested(scope, route) as finishes:

            def finish(status: int) -> None:
                for one in reversed(finishes):  # innermost first, as they exit
                    one(status)

            yield finish

    return around


class Dispatch:
    """The ASGI app of one path: picks the endpoint by method, or answers 405.

    Registered with Starlette as a plain ASGI callable, not a request/response function, so
    requests skip Starlette's ``request_response`` wrapper: our endpoints turn every exception
    into an envelope themselves (measured: ~1.5 µs a request).
    """

    __slots__ = ("allow", "by_method", "observers", "template")

    def __init__(
        self, by_method: dict[str, Endpoint], template: str = "", observers: Observers | None = None
    ) -> None:
        if "GET" in by_method and "HEAD" not in by_method:
            by_method["HEAD"] = by_method["GET"]
        self.by_method = by_method
        self.allow = ", ".join(sorted(by_method))
        self.template = template
        self.observers = observers or Observers()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        observers = self.observers
        observe, around = observers.observe, observers.around
        if observe is None and around is None:
            await self._serve(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what an error escaping the endpoint (a lost client) counts as
        try:
            if around is None:
                status = await self._serve(scope, receive, send)
            else:
                with around(scope, self.template) as finish:
                    try:
                        status = await self._serve(scope, receive, send)
                    finally:
                        finish(status)
        finally:
            if observe is not None:
                notify(observe, scope, self.template, status, perf_counter() - started)

    async def _serve(self, scope: Any, receive: Any, send: Any) -> int:
        """Answer the request; returns the response's status (for the observers: reading it
        here spares wrapping ``send`` to watch for it)."""
        request = Request(scope, receive, send)
        endpoint = self.by_method.get(scope["method"])
        if endpoint is None:
            response = responses.fail(
                405,
                "http.method_not_allowed",
                f"{scope['method']} is not allowed here; allowed: {self.allow}",
                {"allowed": sorted(self.by_method)},
                headers={"allow": self.allow},
            )
        else:
            response = await endpoint(request)
        await response(scope, receive, send)
        return response.status_code


def notify(
    observers: tuple[RequestObserver, ...], scope: Any, route: str, status: int, seconds: float
) -> None:
    """Call each observer; one that raises is logged and the others still see the request
    (the response is sent: an observer's bug must not change it)."""
    for observe in observers:
        try:
            observe(scope, route, status, seconds)
        except Exception as exc:
            _log.error("http.observer_failed", observer=repr(observe), error=repr(exc))


_log = get_logger(component="http")


def _refusals(
    routes: list[StarletteRoute], observers: Observers
) -> Callable[[Any, int, float], None]:
    """What the outer layer calls for a request it refused before routing (413 by
    content-length): observed under the route it was addressed to, as ``Dispatch`` observes the
    rest. A path no route matches is not a routed request and is not observed (as a 404)."""

    def refused(scope: Any, status: int, elapsed: float) -> None:
        observe = observers.observe
        if observe is None:
            return
        for route in routes:
            if route.matches(scope)[0] is not Match.NONE:
                notify(observe, scope, route.path, status, elapsed)
                return

    return refused


async def _not_found(scope: Any, receive: Any, send: Any) -> None:
    response = responses.fail(
        404, "http.not_found", f"no route matches {scope['path']}", {"path": scope["path"]}
    )
    await response(scope, receive, send)


def build(
    app: App,
    settings: HttpSettings,
    extra: list[StarletteRoute],
    observers: Observers | None = None,
) -> tuple[Any, list[Compiled]]:
    """The ASGI app serving ``app``'s routes, and the compiled routes (for `mega routes`)."""
    observers = observers or Observers()
    app_middleware = tuple(
        load_middleware(m, "[plugins.http] middleware") for m in settings.middleware
    )
    controllers: dict[type, Any] = {}
    csrf_enabled = bool(settings.session.secret_key) and settings.session.csrf
    compiled = []
    for _origin, r in collect_routes(app):
        route_mw = tuple(load_middleware(m, f"route {r.name!r}") for m in r.middleware)
        compiled.append(
            compile_route(
                r._replace(middleware=route_mw),
                app,
                controllers,
                app_middleware,
                csrf_enabled=csrf_enabled,
            )
        )
    by_path: dict[str, dict[str, Endpoint]] = {}
    for c in compiled:
        by_path.setdefault(c.route.path, {})[c.route.method] = c.endpoint
    names = {c.route.path: c.route.name for c in compiled}
    # every method reaches our dispatch, so a wrong one gets the 405 envelope, not Starlette's
    # plain-text reply
    routes = [
        StarletteRoute(
            path, Dispatch(methods, path, observers), name=names[path], methods=list(METHODS)
        )
        for path, methods in by_path.items()
    ]
    asgi: Any = RouteIndex(Router(routes=[*routes, *extra], default=_not_found))
    # plugins' ASGI wrappers (mega_http_middleware): the first plugin's outermost
    for wrap in reversed(app.hooks.collect("mega_http_middleware", app=app)):
        asgi = wrap(asgi)
    if settings.session.secret_key:
        store = None
        if settings.session.store == "server":
            store = app.adapters.get("session", settings.session.adapter)
        asgi = SessionMiddleware(
            asgi, settings.session, store, trusted_origins=settings.cors.allow_origins
        )
    if settings.cors.allow_origins:
        cors = settings.cors
        asgi = CORSMiddleware(
            asgi,
            allow_origins=cors.allow_origins,
            allow_methods=cors.allow_methods,
            allow_headers=cors.allow_headers,
            allow_credentials=cors.allow_credentials,
            max_age=cors.max_age_s,
        )
    if settings.trusted_hosts != ("*",):
        asgi = TrustedHostMiddleware(asgi, allowed_hosts=list(settings.trusted_hosts))
    error_page = None
    if settings.error_page:
        template = settings.error_page

        def error_page(scope: Any, request_id: str, status: int, error: dict[str, Any]) -> str:
            from starlette.requests import Request

            from .context import HttpCtx

            ctx = HttpCtx(app, Request(scope), request_id)
            variables = {"status": status, "error": error, "request_id": request_id}
            return str(app.extensions["http"].views.render(ctx, template, variables))

    return (
        MegaHttpMiddleware(
            asgi,
            settings,
            debug=app.config.app.debug,
            error_page=error_page,
            refused=_refusals(routes, observers),
        ),
        compiled,
    )
