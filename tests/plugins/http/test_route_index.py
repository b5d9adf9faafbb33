"""RouteIndex answers every request exactly as the Starlette Router it indexes would."""

from __future__ import annotations

import itertools

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, Router, WebSocketRoute

from mega.plugins.http.route_index import RouteIndex


def named(name: str):
    async def endpoint(request):
        params = ",".join(f"{k}={v}" for k, v in sorted(request.path_params.items()))
        return PlainTextResponse(f"{name}|{params}")

    return endpoint


async def not_found(scope, receive, send):
    await PlainTextResponse("default", status_code=404)(scope, receive, send)


def table() -> list:
    """Routes chosen to make order matter: shadowing, partial matches, mounts, slashes."""
    inner = Router(routes=[Route("/", named("api-root")), Route("/{x}", named("api-x"))])
    return [
        Route("/", named("root")),
        Route("/users/{id:int}", named("user-int")),
        Route("/users/me", named("users-me")),  # shadowed for ints only: "me" is not an int
        Route("/users/{name}", named("user-name")),
        Route("/users/{name}/boards", named("boards"), name="boards"),
        Route("/users/", named("users-slash")),
        Route("/posts", named("posts-get"), methods=["GET"]),
        Route("/posts", named("posts-post"), methods=["POST"]),
        Route("/{page}", named("page")),  # starts with a parameter: filed at the root
        Route("/files/{rest:path}", named("files")),
        Mount("/api", routes=inner.routes),
        Route("/x{n:int}.json", named("x-json")),
        Route("/about/", named("about-slash")),
        Route("/a//b", named("double")),
        Host("admin.example", app=PlainTextResponse("host")),
        WebSocketRoute("/ws/{room}", named("ws")),
        Route("/static/logo.png", named("logo")),
        Route("/static/{name}", named("static-any")),
    ]


PATHS = [
    "/", "/users/1", "/users/me", "/users/bob", "/users/bob/boards", "/users/bob/boards/",
    "/users", "/users/", "/posts", "/posts/", "/anything", "/anything/", "/files/a/b/c.txt",
    "/files", "/files/", "/api", "/api/", "/api/thing", "/x12.json", "/x12.jsonx", "/about",
    "/about/", "/a//b", "/a/b", "/a//", "/static/logo.png", "/static/other.png", "/static",
    "/ws/lobby", "/nothing/here/at/all", "//", "/users//boards", "/users/1/",
]  # fmt: skip


async def answer(app, path: str, method: str) -> tuple[int, bytes, str | None]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    location = dict(start["headers"]).get(b"location")
    return start["status"], body, location.decode() if location else None


@pytest.mark.parametrize(("path", "method"), list(itertools.product(PATHS, ["GET", "POST"])))
async def test_every_request_gets_the_routers_answer(path, method):
    router = Router(routes=table(), default=not_found)
    expected = await answer(router, path, method)
    assert await answer(RouteIndex(router), path, method) == expected


async def test_many_routes_are_all_found_and_the_first_declared_wins():
    routes = [Route(f"/r{i}/{{id:int}}", named(f"r{i}")) for i in range(300)]
    routes.append(Route("/r7/{anything}", named("late")))  # later: loses to /r7/{id:int} on ints
    router = Router(routes=routes, default=not_found)
    index = RouteIndex(router)
    for path in ("/r0/1", "/r150/2", "/r299/3", "/r7/4", "/r7/four", "/r300/1"):
        assert await answer(index, path, "GET") == await answer(router, path, "GET")
    assert (await answer(index, "/r7/4", "GET"))[1] == b"r7|id=4"
    assert (await answer(index, "/r7/four", "GET"))[1] == b"late|anything=four"


def test_url_for_still_sees_every_route():
    index = RouteIndex(Router(routes=table()))
    assert index.url_path_for("boards", name="ann") == "/users/ann/boards"
    assert len(index.routes) == len(table())
