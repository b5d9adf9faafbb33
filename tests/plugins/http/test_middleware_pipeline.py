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


FORM_FILES = {
    "apps/main/mw.py": """
from starlette.responses import HTMLResponse, JSONResponse

SEEN = []


class RequireKey:
    def before(self, ctx):
        if ctx.request.headers.get("x-key") != "k":
            return JSONResponse({"ok": False, "who": "RequireKey"}, status_code=401)


class FormPage:
    async def error(self, ctx, exc):
        SEEN.append(getattr(exc, "code", None))
        if getattr(exc, "code", None) == "request.invalid":
            fields = [e["field"] for e in exc.details["errors"]]
            return HTMLResponse(f"<p>fix: {', '.join(fields)}</p>", status_code=422)
""",
    "apps/main/controllers/f.py": """
from pydantic import BaseModel, Field


class Signup(BaseModel):
    name: str = Field(min_length=2)
    age: int


class F:
    async def create(self, body: Signup):
        return body
""",
    "apps/main/routes/f.py": """
from mega.plugins.http import post
from apps.main.controllers.f import F
from apps.main.mw import FormPage, RequireKey

routes = [post("/guarded", F.create, name="guarded", middleware=[RequireKey]),
          post("/form", F.create, name="form", middleware=[FormPage])]
""",
}


async def test_before_runs_ahead_of_input_parsing(http_project):
    # a login check answers an anonymous caller before its (here invalid) body is looked at
    async with http_project(FORM_FILES) as (_, client):
        refused = await client.post("/guarded", json={"name": ""})
        assert (refused.status_code, refused.json()["who"]) == (401, "RequireKey")
        invalid = await client.post("/guarded", json={"name": ""}, headers={"x-key": "k"})
        assert invalid.json()["error"]["code"] == "request.invalid"


async def test_invalid_input_reaches_the_error_phase_so_a_form_can_show_it(http_project):
    async with http_project(FORM_FILES) as (_, client):
        from apps.main.mw import SEEN

        page = await client.post("/form", data={"name": "A", "age": "x"})
        assert (page.status_code, page.text) == (422, "<p>fix: body.name, body.age</p>")
        not_json = await client.post(
            "/form", content=b"{", headers={"content-type": "application/json"}
        )
        # unhandled by the middleware: the usual envelope
        assert (not_json.status_code, not_json.json()["error"]["code"]) == (
            400,
            "request.invalid_json",
        )
        assert SEEN == ["request.invalid", "request.invalid_json"]
