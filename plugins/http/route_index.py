"""Finding a request's route without trying every route: dispatch cost flat in the route count.

Starlette's ``Router`` tries routes in order, one regular expression each (~0.8 us a route), so the
last of 1 000 routes pays for the 999 before it. ``RouteIndex`` answers the same route the router
would, from a subset:

- a path without parameters that no earlier route could also match: one dict lookup;
- any other request: routes are filed in a tree by their *literal prefix*, the leading path
  segments that hold no ``{parameter}`` (``/users/{id}/boards`` under ``users``; a route that
  starts with a parameter, a host route or anything else not read here, at the root). A request
  can only match routes whose literal prefix is a prefix of its own segments, so walking the tree
  along the path and keeping the routes met, in their original order, leaves out only routes that
  cannot match. Each tree node has a Starlette ``Router`` over exactly those routes (same
  ``default``, same ``redirect_slashes``): first full match, else first partial (405), else a
  slash redirect, else the default, as before.

A trailing empty segment is dropped on both sides, so ``/users`` and ``/users/`` reach the same node
and the router's slash redirect sees every route it could redirect to.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path  # the router's own reading of a path
from starlette.routing import Match, Router
from starlette.routing import Route as StarletteRoute


class _Node:
    __slots__ = ("children", "indexed", "router")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        #: (position in the router, route) of the routes whose literal prefix ends here
        self.indexed: list[tuple[int, Any]] = []
        self.router: Router | None = None


class RouteIndex:
    """An ASGI app answering as ``router`` would, in time that does not grow with its routes."""

    __slots__ = ("root", "router", "static")

    def __init__(self, router: Router) -> None:
        self.router = router
        self.static: dict[str, StarletteRoute] = {}
        self.root = _Node()
        for i, route in enumerate(router.routes):
            if isinstance(route, StarletteRoute) and not route.param_convertors:
                probe = {
                    "type": "http", "path": route.path, "root_path": "", "method": "GET",
                    "headers": [],
                }  # fmt: skip
                shadowed = any(
                    earlier.matches(probe)[0] is not Match.NONE for earlier in router.routes[:i]
                )
                if not shadowed:
                    self.static.setdefault(route.path, route)
            node = self.root
            for segment in _literal_prefix(route):
                node = node.children.setdefault(segment, _Node())
            node.indexed.append((i, route))
        self._build(self.root, [])

    def _build(self, node: _Node, inherited: list[tuple[int, Any]]) -> None:
        candidates = sorted([*inherited, *node.indexed], key=lambda pair: pair[0])
        node.router = Router(
            routes=[route for _, route in candidates],
            redirect_slashes=self.router.redirect_slashes,
            default=self.router.default,
        )
        for child in node.children.values():
            self._build(child, candidates)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.router(scope, receive, send)  # lifespan
            return
        path = get_route_path(scope)
        scope.setdefault("router", self.router)  # what url_for reads: the whole table
        if kind == "http":
            route = self.static.get(path)
            if route is not None and (not route.methods or scope["method"] in route.methods):
                # what the router would have set before handing the request over
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = {}
                await route.app(scope, receive, send)
                return
        node = self.root
        for segment in _segments(path):
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        assert node.router is not None
        await node.router.app(scope, receive, send)

    @property
    def routes(self) -> list[Any]:
        return list(self.router.routes)

    def url_path_for(self, name: str, /, **params: Any) -> Any:
        return self.router.url_path_for(name, **params)


def _segments(path: str) -> list[str]:
    """``/a/b/`` -> ``["a", "b"]``: the path's segments, a trailing empty one dropped."""
    segments = path.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()
    return segments


def _literal_prefix(route: Any) -> list[str]:
    """The leading segments of a route's path that hold no parameter; [] for a route whose
    path is not read here (a host route, an ASGI app without ``path``)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return []
    prefix = []
    for segment in _segments(path):
        if "{" in segment:
            break
        prefix.append(segment)
    return prefix
