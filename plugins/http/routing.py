"""Declaring routes: ``get("/users/{user_id}", UsersController.show, name="users.show")``.

Routes live in ``apps/<app>/routes/*.py`` as a module-level ``routes = [...]`` list; plugins
contribute more with ``registry.contribute("route", name, route(...))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from mega import MegaConfigError, import_app_modules

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}")
_STATUS = re.compile(r"^[1-5](\d\d|XX)$")


class Route(NamedTuple):
    """One route: method, path template, handler, unique name, route middleware."""

    method: str
    path: str
    handler: Callable[..., Any]
    name: str
    middleware: tuple[Any, ...] = ()
    #: check the CSRF token on unsafe methods of session-cookie requests (see sessions)
    csrf: bool = True
    #: the status of a successful enveloped answer (``ctx.status`` starts at it; 201 for a
    #: create), as the OpenAPI document lists it
    status: int = 200
    #: a page for browsers: it answers HTML, redirects (3xx) and error pages besides the
    #: envelope, and the OpenAPI document says so
    page: bool = False
    #: more answers for the OpenAPI document, by status (``"3XX"`` ranges too): a type (the
    #: JSON body's schema, as sent, not enveloped), a media type string (``"text/html"``), or
    #: None (no body); a 2xx given here replaces the documented envelope
    responses: Mapping[int | str, Any] = MappingProxyType({})

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)


def route(
    method: str,
    path: str,
    handler: Callable[..., Any],
    *,
    name: str | None = None,
    middleware: Sequence[Any] = (),
    csrf: bool = True,
    status: int = 200,
    page: bool = False,
    responses: Mapping[int | str, Any] | None = None,
) -> Route:
    """A route: ``method`` and ``path`` (``/users/{user_id}``; a ``{name}`` becomes the
    handler's argument of that name, validated by its annotation) to ``handler``.

    ``name`` (default: the handler's ``Controller.method`` in snake words) names it for
    ``url_for`` and ``mega routes``; ``middleware`` runs around it only (after the app's);
    ``csrf=False`` exempts it from the session CSRF check (an API called with a bearer token);
    ``status`` is the success status; ``page=True`` renders errors as the HTML error page;
    ``responses`` documents further answers in OpenAPI (``{404: ErrorModel}``).
    """
    verb = method.upper()
    if verb not in METHODS:
        raise MegaConfigError(
            "http.invalid_route",
            f"route {path!r}: method {method!r} is not one of {', '.join(METHODS)}",
            {"path": path, "method": method},
        )
    if not path.startswith("/"):
        raise MegaConfigError(
            "http.invalid_route", f"route path {path!r} must start with '/'", {"path": path}
        )
    if not callable(handler):
        raise MegaConfigError(
            "http.invalid_route",
            f"route {verb} {path}: handler {handler!r} is not callable",
            {"path": path},
        )
    if not 100 <= status <= 399:
        raise MegaConfigError(
            "http.invalid_route",
            f"route {verb} {path}: status={status} is not a success (100-399); errors are "
            "raised, not declared",
            {"path": path, "status": status},
        )
    for key in responses or {}:
        if not _STATUS.match(str(key)):
            raise MegaConfigError(
                "http.invalid_route",
                f"route {verb} {path}: responses key {key!r} is not a status (404) or a range "
                "('4XX')",
                {"path": path, "status": key},
            )
    default = getattr(handler, "__qualname__", "handler").replace(".", ":").lower()
    return Route(
        verb,
        path,
        handler,
        name or default,
        tuple(middleware),
        csrf,
        status,
        page,
        MappingProxyType(dict(responses or {})),
    )


def get(path: str, handler: Callable[..., Any], **kw: Any) -> Route:
    """``route("GET", path, handler, ...)``: the keyword arguments are ``route``'s (``name``,
    ``middleware``, ``csrf``, ``status``, ``page``, ``responses``)."""
    return route("GET", path, handler, **kw)


def post(path: str, handler: Callable[..., Any], **kw: Any) -> Route:
    """``route("POST", path, handler, ...)``: the keyword arguments are ``route``'s (``name``,
    ``middleware``, ``csrf``, ``status``, ``page``, ``responses``)."""
    return route("POST", path, handler, **kw)


def put(path: str, handler: Callable[..., Any], **kw: Any) -> Route:
    """``route("PUT", path, handler, ...)``: the keyword arguments are ``route``'s (``name``,
    ``middleware``, ``csrf``, ``status``, ``page``, ``responses``)."""
    return route("PUT", path, handler, **kw)


def patch(path: str, handler: Callable[..., Any], **kw: Any) -> Route:
    """``route("PATCH", path, handler, ...)``: the keyword arguments are ``route``'s (``name``,
    ``middleware``, ``csrf``, ``status``, ``page``, ``responses``)."""
    return route("PATCH", path, handler, **kw)


def delete(path: str, handler: Callable[..., Any], **kw: Any) -> Route:
    """``route("DELETE", path, handler, ...)``: the keyword arguments are ``route``'s (``name``,
    ``middleware``, ``csrf``, ``status``, ``page``, ``responses``)."""
    return route("DELETE", path, handler, **kw)


def discover_routes(root: Path | None) -> list[tuple[str, Route]]:
    """``(origin, route)`` for every route in ``apps/*/routes/*.py`` under ``root``."""
    found = []
    for rel, module in import_app_modules(
        root, "routes", code="http.routes_import_failed", what="route"
    ):
        declared = getattr(module, "routes", None)
        if not isinstance(declared, list | tuple) or not all(
            isinstance(r, Route) for r in declared
        ):
            raise MegaConfigError(
                "http.invalid_routes_module",
                f"{rel} must define `routes = [get(...), post(...), ...]` (a list of routes)",
                {"path": str(rel)},
            )
        found += [(str(rel), r) for r in declared]
    return found


def check_unique(routes: list[tuple[str, Route]]) -> None:
    """Route names and (method, path) pairs are unique; a clash names both origins."""
    # keyed by name or by (method, path): one loop checks both
    names: dict[Hashable, str] = {}
    paths: dict[Hashable, str] = {}
    for origin, r in routes:
        for seen, key, what in (
            (names, r.name, f"name {r.name!r}"),
            (paths, (r.method, r.path), f"{r.method} {r.path}"),
        ):
            if key in seen:
                raise MegaConfigError(
                    "http.duplicate_route",
                    f"route {what} is declared twice: in {seen[key]} and in {origin}; "
                    "rename or remove one",
                    {"route": what, "origins": [seen[key], origin]},
                )
            seen[key] = origin
