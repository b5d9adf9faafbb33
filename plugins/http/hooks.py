"""The http plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin.

The route hooks are called when the http plugin builds the ASGI app — at boot, and by
``mega routes`` / the OpenAPI document without booting — so what they return must look up
runtime state when a request comes, not when it is built. The request hooks are factories,
called once per boot after every plugin's ``mega_before_boot``; what they return runs on every
routed request. With no implementation a request pays nothing for them.

Requests the app answers before routing (a body over ``max_body_bytes`` by its
content-length: 413) are observed under the route they were addressed to; a path no route
matches is not a routed request and is not observed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mega import hookspec

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from mega import App

    from .routing import Route

#: ``observer(scope, route, status, seconds)``: ``scope`` is the request's ASGI scope
#: (``scope["method"]``, ``scope["path"]``; ``scope.get(TRACE_KEY)``: the (trace id, span id)
#: of its sampled span; ``scope.get(ERROR_KEY)``: the exception a handler raised), ``route``
#: the matched route's template (``/users/{id}``, never the raw path), ``status`` the
#: response status, ``seconds`` the time from dispatch to the end of the response
RequestObserver = Callable[[Any, str, int, float], None]
#: ``around(scope, route)``: a context manager entered around the request (handler, response
#: sent); it yields ``finish(status)``, called with the response status before it exits
RequestWrapper = Callable[[Any, str], AbstractContextManager[Callable[[int], None]]]
#: an ASGI application
ASGIApp = Callable[..., Any]

#: the scope key a request wrapper puts the (trace id, span id) of a sampled span under, for
#: observers (the metrics plugin's exemplars)
TRACE_KEY = "mega.trace"
#: the scope key of the exception a handler raised (the request answered 4xx/5xx from it)
ERROR_KEY = "mega.error"


@hookspec
def mega_http_routes(app: App) -> Iterable[Route] | None:
    """Routes to serve next to the app's own (``[get("/metrics", scrape)]``); each goes
    through the whole pipeline (validation, envelope, CSRF, OpenAPI, observers)."""


@hookspec
def mega_http_asgi_routes(app: App) -> Iterable[BaseRoute] | None:
    """Starlette routes served as they are, for what is not request/response (the ws
    plugin's WebSocket endpoint). They are not observed or documented in OpenAPI."""


@hookspec
def mega_http_middleware(app: App) -> Callable[[ASGIApp], ASGIApp] | None:
    """An ASGI wrapper: ``wrap(asgi_app) -> asgi_app``. Wrappers sit inside the error
    envelope, request id and session layers (``scope["session"]`` is there) and outside
    routing; the first plugin's is outermost. Called once per build."""


@hookspec
def mega_http_observer(app: App) -> RequestObserver | None:
    """A function called after every routed request (see ``RequestObserver``). It runs on the
    request's path: keep it to counting; it must not raise (an error is logged, the response
    is already sent)."""


@hookspec
def mega_http_draining(app: App) -> Awaitable[None] | None:
    """The server got its stop signal (SIGTERM, Ctrl-C) and starts draining: close long-lived
    connections now, with a close code that says why (the ws plugin sends 1001 "going away"),
    before the server drops them itself (uvicorn closes WebSockets with 1012, granian cuts them:
    clients see 1006). May be async; called once, on the server's loop, as the signal arrives
    (the app's shutdown phases come later, when requests have drained)."""


@hookspec
def mega_http_wrap_request(app: App) -> RequestWrapper | None:
    """A context manager factory around every routed request (see ``RequestWrapper``):
    tracing spans, per-request context. Several nest in plugin order, the first outermost."""
