"""Route and app middleware: before/after/error phases, in order, sync or async."""

from __future__ import annotations

MIDDLEWARE = """
from starlette.responses import JSONResponse

from mega.plugins.http.responses import fail

TRAIL = []


class Outer:
    def before(self, ctx):
        TRAIL.append("outer.before")

    async def after(self, ctx, response):
        TRAIL.append("outer.after")
        response.headers["x-outer"] = "1"


class Inner:
    async def before(self, ctx):
        TRAIL.append("inner.before")
        if ctx.request.headers.get("x-block"):
            return fail(403, "auth.blocked", "blocked by Inner")

    def after(self, ctx, response):
        TRAIL.append("inner.after")

    def error(self, ctx, exc):
        TRAIL.append("inner.error")
        if isinstance(exc, KeyError):
            return JSONResponse({"ok": False, "handled": str(exc)}, status_code=409)
"""
CONTROLLER = """
class C:
    async def ok(self):
        return "fine"

    async def missing(self):
        raise KeyError("gone")
"""
ROUTES = """
from mega.plugins.http import get
from apps.main.controllers.c import C
from apps.main.mw import Inner

routes = [get("/ok", C.ok, name="ok", middleware=[Inner]),
          get("/missing", C.missing, name="missing", middleware=[Inner()])]
"""
FILES = {
    "apps/main/mw.py": MIDDLEWARE,
    "apps/main/controllers/c.py": CONTROLLER,
    "apps/main/routes/r.py": ROUTES,
}
SETTINGS = {"middleware": ["apps.main.mw:Outer"]}


async def test_app_middleware_wraps_route_middleware_in_order(http_project):
    async with http_project(FILES, SETTINGS) as (_, client):
        from apps.main.mw import TRAIL

        response = await client.get("/ok")
        assert response.json()["data"] == "fine"
        assert response.headers["x-outer"] == "1"
        assert TRAIL == ["outer.before", "inner.before", "inner.after", "outer.after"]


async def test_a_before_phase_may_answer_instead_of_the_handler(http_project):
    async with http_project(FILES, SETTINGS) as (_, client):
        from apps.main.mw import TRAIL

        response = await client.get("/ok", headers={"x-block": "1"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "auth.blocked"
        assert TRAIL == ["outer.before", "inner.before"]


async def test_an_error_phase_may_turn_an_exception_into_a_response(http_project):
    async with http_project(FILES, SETTINGS) as (_, client):
        response = await client.get("/missing")
        assert (response.status_code, response.json()) == (409, {"ok": False, "handled": "'gone'"})


async def test_middleware_that_cannot_be_imported_fails_the_boot(http_project):
    import pytest

    from mega import MegaConfigError

    with pytest.raises(MegaConfigError) as err:
        async with http_project(FILES, {"middleware": ["apps.main.mw:Nope"]}):
            pass
    assert err.value.code == "http.invalid_middleware"
    assert "'apps.main.mw:Nope' cannot be imported" in err.value.message
