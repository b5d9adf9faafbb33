"""The docs page: Swagger UI from the installed `docs` extra (its files served with long cache
headers, the page under a strict CSP, the CSRF token for its script), or the table without it.

Then the page in headless Chromium (Playwright): Swagger UI renders under its CSP with nothing
refused, "Try it out" → "Execute" shows the answer, and a POST guarded by the session and CSRF
goes through with the token the page's script fetched. Screenshots land in
build/artifacts/docs-ui/ (MEGA_ARTIFACTS overrides build/artifacts)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from mega.plugins.http.docs_ui import PAGE_CSP, swagger_ui
from mega.testing import boot_app, serve_http

CONTROLLER = '''
from pydantic import BaseModel

from mega.plugins.http import fail


class Pet(BaseModel):
    name: str


class Pets:
    async def show(self, pet_id: int) -> Pet:
        """Fetch a pet."""
        return Pet(name="rex")

    async def create(self, ctx, body: Pet) -> Pet:
        if "user" not in ctx.session:
            return fail(401, "auth.required", "sign in first")
        ctx.status = 201
        return body

    async def login(self, ctx) -> dict:
        ctx.session["user"] = "ada"
        ctx.session.rotate()
        return {"user": "ada"}
'''
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.pets import Pets

routes = [get("/pets/{pet_id}", Pets.show, name="pets.show"),
          post("/pets", Pets.create, name="pets.create"),
          post("/login", Pets.login, name="login")]
"""
FILES = {"apps/main/controllers/pets.py": CONTROLLER, "apps/main/routes/pets.py": ROUTES}
SESSIONS = {"session": {"secret_key": "k" * 32}}
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def installed():
    """Swagger UI's files (the `docs` extra); required where the test services are."""
    found = swagger_ui()
    if found is None:
        if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
            pytest.fail("swagger-ui-py is not installed (pip install -e '.[all]')")
        pytest.skip("swagger-ui-py is not installed (pip install -e '.[docs]')")
    return found


@pytest.fixture
def not_installed(monkeypatch):
    """An environment without the `docs` extra: importing swagger_ui fails."""
    monkeypatch.setitem(sys.modules, "swagger_ui", None)
    assert swagger_ui() is None


def _assets(page: str) -> list[str]:
    return re.findall(r"(?:src|href)='(/docs/assets/[^']+)'", page)


async def test_the_page_is_swagger_ui_from_packaged_files_with_no_inline_script(
    http_project, installed
):
    async with http_project(FILES) as (_, client):
        page = await client.get("/docs")
        assert page.status_code == 200
        assert page.headers.get_list("content-security-policy")[0] == PAGE_CSP
        assets = _assets(page.text)
        for url in assets:
            answer = await client.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    version = installed[1]
    assert f"/docs/assets/swagger-ui-{version}/swagger-ui-bundle.js" in assets
    assert any(url.endswith("/docs.js") for url in assets)
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert len(scripts) == 2 and all("src=" in tag for tag in scripts)  # nothing inline
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no outside link
    assert "data-openapi='/openapi.json'" in page.text
    assert "<noscript>" in page.text and "/pets/{pet_id}" in page.text  # the table, for no-JS


async def test_the_page_keeps_its_own_policy_and_other_routes_the_apps(http_project, installed):
    async with http_project(FILES) as (_, client):
        page = await client.get("/docs")
        other = await client.get("/openapi.json")
    assert page.headers.get_list("content-security-policy") == [PAGE_CSP]  # not both
    assert "x-content-type-options" in page.headers  # the app's other headers still come
    app_policy = "default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
    if "content-security-policy" in other.headers:
        assert other.headers.get_list("content-security-policy") == [app_policy]


async def test_assets_answer_304_when_unchanged_and_only_the_listed_files(http_project, installed):
    async with http_project(FILES) as (_, client):
        page = (await client.get("/docs")).text
        [bundle] = [u for u in _assets(page) if u.endswith("swagger-ui-bundle.js")]
        first = await client.get(bundle)
        again = await client.get(bundle, headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        folder = bundle.rsplit("/", 1)[0]
        for name in ("swagger-editor-bundle.js", "oauth2-redirect.html", "..%2F__init__.py"):
            assert (await client.get(f"{folder}/{name}")).status_code == 404, name
        old = await client.get("/docs/assets/swagger-ui-0.0.1/swagger-ui-bundle.js")
        assert old.status_code == 404
    assert first.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_the_table_stands_in_when_swagger_ui_is_not_installed(http_project, not_installed):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        async with http_project(FILES, SESSIONS) as (_, client):
            page = await client.get("/docs")
            assets = await client.get("/docs/assets/mega-x/docs.js")
            token = await client.get("/docs/csrf-token")
    assert [e["event"] for e in logs if e["event"].startswith("http.docs")] == [
        "http.docs_ui_unavailable"
    ]
    assert page.status_code == 200 and "<table>" in page.text and "/pets/{pet_id}" in page.text
    assert "<script" not in page.text and "<noscript>" not in page.text
    assert page.headers.get_list("content-security-policy")[0].startswith("default-src 'none'")
    assert assets.status_code == 404 and token.status_code == 404


async def test_docs_ui_table_serves_the_table_even_with_swagger_ui_installed(
    http_project, installed
):
    async with http_project(FILES, {"docs_ui": "table", **SESSIONS}) as (_, client):
        page = await client.get("/docs")
        assert (await client.get("/docs/csrf-token")).status_code == 404
    assert "<table>" in page.text and "<script" not in page.text


async def test_the_token_route_hands_the_page_the_csrf_token_a_session_post_needs(
    http_project, installed
):
    async with http_project(FILES, SESSIONS) as (_, client):
        page = (await client.get("/docs")).text
        assert "data-csrf-token='/docs/csrf-token'" in page
        answer = await client.get("/docs/csrf-token")
        assert answer.headers["cache-control"] == "no-store"
        token = answer.json()["data"]["csrf_token"]
        assert "mega_csrf" in client.cookies  # the HttpOnly cookie the token is signed from
        refused = await client.post("/login")
        assert refused.json()["error"]["code"] == "csrf.invalid"
        assert (await client.post("/login", headers={"x-csrf-token": token})).status_code == 200
        # signing in renewed the token: the old one is refused, a fresh one from the route works
        body = {"name": "rex"}
        stale = await client.post("/pets", json=body, headers={"x-csrf-token": token})
        assert stale.status_code == 403
        fresh = (await client.get("/docs/csrf-token")).json()["data"]["csrf_token"]
        made = await client.post("/pets", json=body, headers={"x-csrf-token": fresh})
    assert made.status_code == 201 and made.json()["data"] == body


async def test_without_sessions_the_page_asks_for_no_token(http_project, installed):
    async with http_project(FILES) as (_, client):
        page = (await client.get("/docs")).text
        assert (await client.get("/docs/csrf-token")).status_code == 404
    assert "data-csrf-token=''" in page


@pytest.mark.parametrize(
    "http", [{"openapi": False}, {"docs_path": ""}], ids=["openapi-off", "docs-path-empty"]
)
async def test_turning_the_docs_off_removes_the_page_and_its_assets(http_project, installed, http):
    async with http_project(FILES, {**http, **SESSIONS}) as (_, client):
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/docs/csrf-token")).status_code == 404


# In Chromium


@pytest.fixture
def shots() -> Path:
    folder = Path(os.environ.get("MEGA_ARTIFACTS") or REPO / "build" / "artifacts") / "docs-ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder  # each test writes its own names over the last run's


@pytest.fixture
def docs_app(tmp_path, monkeypatch, forget_apps, installed):
    """``async with docs_app() as url``: the pets app above, sessions on, served by uvicorn."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for rel, source in {"apps/__init__.py": "", "apps/main/__init__.py": "", **FILES}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))

    @contextlib.asynccontextmanager
    async def make(http: dict | None = None):
        forget_apps()
        settings = {**SESSIONS, **(http or {})}
        config = {"app": {"name": "pets", "plugins": ["http"]}, "plugins": {"http": settings}}
        try:
            async with boot_app(config, root=tmp_path, environ={}) as app:
                async with serve_http(app) as url:
                    yield url
        finally:
            forget_apps()

    return make


@contextlib.asynccontextmanager
async def docs_page(chromium: str, url: str):
    """The docs page, loaded, and the list of what the browser complained about (a script,
    style or image the CSP refused is a console error)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            # an error status an operation answered is logged too: that one is no problem
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and "the server responded with a status" not in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{url}/docs")
            yield page, problems
        finally:
            await browser.close()


def operation(page, method: str, path: str):
    return page.locator(f".opblock-{method}").filter(
        has=page.locator(f".opblock-summary-path[data-path='{path}']")
    )


@pytest.mark.parametrize("app_policy", [None, ""], ids=["app-csp-default", "app-csp-off"])
async def test_try_it_out_executes_an_operation_and_shows_the_answer(
    docs_app, chromium, shots, app_policy
):
    """Under the app's default policy and the page's, and under the page's alone."""
    from playwright.async_api import expect

    http = {} if app_policy is None else {"security_headers": {"content_security_policy": ""}}
    async with docs_app(http) as url, docs_page(chromium, url) as (page, problems):
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("pets")
        if app_policy is None:
            await page.screenshot(path=str(shots / "01-rendered.png"), full_page=True)
        show = operation(page, "get", "/pets/{pet_id}")
        await show.locator(".opblock-summary-control").click()
        await show.locator(".try-out__btn").click()
        await show.locator("input[placeholder='pet_id']").fill("7")
        await show.locator(".execute").click()
        answer = show.locator(".live-responses-table")
        await expect(answer.locator("tr.response .response-col_status")).to_have_text("200")
        await expect(answer.locator("tr.response .response-col_description")).to_contain_text(
            '"rex"'
        )
        if app_policy is None:
            await page.screenshot(path=str(shots / "02-executed.png"), full_page=True)
    assert problems == []  # nothing refused by the CSP, nothing fetched from elsewhere


async def test_a_post_guarded_by_session_and_csrf_runs_from_the_page(docs_app, chromium, shots):
    from playwright.async_api import expect

    async with docs_app() as url, docs_page(chromium, url) as (page, problems):
        create = operation(page, "post", "/pets")
        await create.locator(".opblock-summary-control").click()
        await create.locator(".try-out__btn").click()
        await create.locator("textarea.body-param__text").fill('{"name": "rex"}')
        status = create.locator(".live-responses-table tr.response .response-col_status")
        await create.locator(".execute").click()
        # the CSRF check passed (the page sent the token); no one is signed in yet
        await expect(status).to_have_text(re.compile(r"^401\b"))
        login = operation(page, "post", "/login")
        await login.locator(".opblock-summary-control").click()
        await login.locator(".try-out__btn").click()
        await login.locator(".execute").click()
        await expect(
            login.locator(".live-responses-table tr.response .response-col_status")
        ).to_have_text("200")
        await create.locator(".execute").click()  # the session rotated: a new token is fetched
        await expect(status).to_have_text(re.compile(r"^201\b"))
        await create.scroll_into_view_if_needed()
        await page.screenshot(path=str(shots / "03-csrf-post.png"), full_page=True)
        # the same POST without the page's token is refused: the token is what let it through
        bare = await page.evaluate(
            """fetch("/pets", {method: "POST", headers: {"content-type": "application/json"},
                               body: '{"name": "rex"}'}).then((r) => r.json())"""
        )
    assert bare["error"]["code"] == "csrf.invalid"
    assert problems == []
