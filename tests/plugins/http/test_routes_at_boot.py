"""Route declarations are checked at boot; every mistake names the route and what to do."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.testing import http_client

CONTROLLER = """
class C:
    async def a(self, item_id: int):
        return item_id

    async def b(self):
        return "b"

    async def needs_body(self, body: dict):
        return body
"""


def routes(*lines):
    return (
        "from mega.plugins.http import get, post\nfrom apps.main.controllers.c import C\n"
        "routes = [" + ", ".join(lines) + "]\n"
    )


@pytest.mark.parametrize(
    ("declared", "code", "fragment"),
    [
        (
            'get("/a/{item_id}", C.a, name="x"), get("/b", C.b, name="x")',
            "http.duplicate_route",
            "route name 'x' is declared twice",
        ),
        (
            'get("/b", C.b, name="one"), get("/b", C.b, name="two")',
            "http.duplicate_route",
            "route GET /b is declared twice",
        ),
        (
            'get("/a/{id}", C.a, name="a")',
            "http.invalid_handler",
            "the path has {id} but the handler takes no parameter of that name",
        ),
        (
            'get("/body", C.needs_body, name="nb")',
            "http.invalid_handler",
            "takes a request body, which GET requests do not have",
        ),
    ],
    ids=["same-name", "same-path", "missing-path-param", "body-on-get"],
)
async def test_route_mistakes_fail_the_boot(http_project, declared, code, fragment):
    files = {"apps/main/controllers/c.py": CONTROLLER, "apps/main/routes/r.py": routes(declared)}
    with pytest.raises(MegaConfigError) as err:
        async with http_project(files):
            pass
    assert err.value.code == code
    assert fragment in err.value.message


async def test_a_routes_module_without_a_routes_list_is_an_error(http_project):
    files = {"apps/main/routes/r.py": "x = 1\n"}
    with pytest.raises(MegaConfigError) as err:
        async with http_project(files):
            pass
    assert err.value.code == "http.invalid_routes_module"
    assert "apps/main/routes/r.py must define `routes = [" in err.value.message


def test_route_helpers_reject_bad_declarations():
    from mega.plugins.http import route

    with pytest.raises(MegaConfigError, match="must start with '/'"):
        route("GET", "users", lambda: None)
    with pytest.raises(MegaConfigError, match="is not one of"):
        route("FETCH", "/users", lambda: None)


async def test_plugins_serve_routes_through_the_http_routes_hook(site):
    site.plugin(
        "status-page",
        """
from mega.plugins.http import get

async def status():
    return {"up": True}

@hookimpl
def mega_http_routes(app):
    return [get("/status", status, name="status")]
""",
        requires="('http',)",
    )
    from mega.testing import boot_app

    async with boot_app({"app": {"plugins": ["http", "status-page"]}}, environ={}) as app:
        async with http_client(app) as client:
            response = await client.get("/status")
        compiled = {c.route.name: c for c in app.extensions["http"].compiled}
    assert response.json() == {"ok": True, "data": {"up": True}}
    assert "status" in compiled


async def test_registry_contribute_still_serves_a_route_with_a_deprecation_warning(site):
    site.plugin(
        "status-page",
        """
from mega.plugins.http import get

async def status():
    return {"up": True}

@hookimpl
def mega_register(registry):
    registry.contribute("route", "status", get("/status", status))
""",
        requires="('http',)",
    )
    from mega.testing import boot_app

    with pytest.warns(DeprecationWarning, match=r"registry.contribute\('route'"):
        async with boot_app({"app": {"plugins": ["http", "status-page"]}}, environ={}) as app:
            async with http_client(app) as client:
                response = await client.get("/status")
    assert response.json() == {"ok": True, "data": {"up": True}}
