"""i18n, templates, static files, and form/multipart bodies."""

from __future__ import annotations

import json

import pytest

from mega import MegaConfigError

CONTROLLER = """
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from mega.plugins.http import HttpCtx


class Signup(BaseModel):
    name: str
    tags: list[str] = []


class Pages:
    async def hello(self, ctx: HttpCtx, name: str = "you"):
        return {"text": ctx.t("greeting.hello", name=name), "locale": ctx.locale,
                "missing": ctx.t("nope.nothing")}

    async def show(self, user_id: int):
        return {"id": user_id}

    async def page(self, ctx: HttpCtx, name: str = "<b>you</b>"):
        return ctx.render("pages/hello.html", name=name)

    async def signup(self, ctx: HttpCtx, body: Signup) -> Signup:
        return body

    async def upload(self, ctx: HttpCtx):
        form = await ctx.request.form()
        upload = form["file"]
        assert isinstance(upload, UploadFile)
        data = await upload.read()
        return {"name": upload.filename, "size": len(data), "on_disk": upload.file._rolled}
"""
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.pages import Pages

routes = [get("/hello", Pages.hello, name="hello"),
          get("/page", Pages.page, name="page"),
          get("/users/{user_id}", Pages.show, name="users.show"),
          post("/signup", Pages.signup, name="signup"),
          post("/upload", Pages.upload, name="upload")]
"""
TEMPLATE = (
    "<p>{{ t('greeting.hello', name=name) }}</p>"
    "<a href='{{ url_for('users.show', user_id=7) }}'>me</a>"
    "<form>{{ csrf_field() }}</form><i>{{ locale }}</i>"
)
FILES = {
    "apps/main/controllers/pages.py": CONTROLLER,
    "apps/main/routes/r.py": ROUTES,
    "apps/main/views/pages/hello.html": TEMPLATE,
    "apps/main/locales/server/en.json": json.dumps({"greeting": {"hello": "Hello, {name}!"}}),
    "apps/main/locales/server/ko.json": json.dumps({"greeting": {"hello": "안녕하세요, {name}!"}}),
    "static/app.css": "body { color: red }",
}
SESSION = {"session": {"secret_key": "k" * 40}}


async def test_the_locale_comes_from_the_cookie_then_accept_language(http_project):
    async with http_project(FILES) as (_, client):
        default = (await client.get("/hello", params={"name": "Ada"})).json()["data"]
        assert default == {
            "text": "Hello, Ada!",
            "locale": "en",
            "missing": "[missing: nope.nothing]",
        }
        korean = await client.get("/hello", headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.5"})
        assert korean.json()["data"]["text"] == "안녕하세요, you!"
        client.cookies.set("locale", "en")
        chosen = await client.get("/hello", headers={"accept-language": "ko"})
        assert chosen.json()["data"]["locale"] == "en"


async def test_translate_reads_the_same_catalogs_outside_a_request(http_project):
    from mega.plugins.http import translate

    async with http_project(FILES) as (app, _):
        assert translate(app, "ko", "greeting.hello", name="Ada") == "안녕하세요, Ada!"
        assert translate(app, "fr", "greeting.hello", name="Ada") == "Hello, Ada!"  # default
        assert translate(app, "en", "nope.nothing") == "[missing: nope.nothing]"


async def test_templates_escape_and_offer_t_url_for_and_csrf_field(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        response = await client.get("/page", headers={"accept-language": "ko"})
    assert response.headers["content-type"].startswith("text/html")
    assert "안녕하세요, &lt;b&gt;you&lt;/b&gt;!" in response.text  # autoescaped
    assert "href='/users/7'" in response.text
    assert '<input type="hidden" name="csrf_token" value="' in response.text
    assert "<i>ko</i>" in response.text


async def test_a_form_body_validates_like_json(http_project):
    async with http_project(FILES) as (_, client):
        ok = await client.post("/signup", data={"name": "ada", "tags": ["a", "b"]})
        bad = await client.post("/signup", data={"tags": "x"})
    assert ok.json()["data"] == {"name": "ada", "tags": ["a", "b"]}
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["errors"][0]["field"] == "body.name"


async def test_uploads_are_spooled_to_disk_and_limited(http_project):
    big = b"x" * (2 * 1024 * 1024)
    async with http_project(FILES, {"max_upload_bytes": 3 * 1024 * 1024}) as (_, client):
        stored = await client.post("/upload", files={"file": ("big.bin", big)})
        assert stored.json()["data"] == {"name": "big.bin", "size": len(big), "on_disk": True}
        too_big = await client.post("/upload", files={"file": ("huge.bin", big * 2)})
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "request.too_large"


async def test_static_files_have_cache_headers_and_no_way_out(http_project):
    async with http_project(FILES) as (_, client):
        css = await client.get("/static/app.css")
        assert css.text == "body { color: red }"
        assert css.headers["cache-control"] == "public, max-age=3600"
        etag = css.headers["etag"]
        again = await client.get("/static/app.css", headers={"if-none-match": etag})
        assert again.status_code == 304
        for sneaky in (
            "/static/../mega.toml",
            "/static/%2e%2e/apps/__init__.py",
            "/static/..%2fapps/__init__.py",
        ):
            response = await client.get(sneaky)
            assert 400 <= response.status_code < 500, sneaky


async def test_a_missing_default_locale_file_fails_the_boot(http_project):
    files = {"apps/main/locales/server/ko.json": "{}"}
    with pytest.raises(MegaConfigError) as err:
        async with http_project(files):
            pass
    assert err.value.code == "i18n.missing_default_locale"
