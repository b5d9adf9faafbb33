"""[plugins.http] error_page: browsers get the error as a page, API clients keep the envelope."""

from __future__ import annotations

import pytest

from mega import MegaConfigError

SECRET = "error-page-test-secret-0123456789-abcdef"
FILES = {
    "apps/main/controllers/c.py": """
class C:
    async def boom(self):
        raise RuntimeError("kaput")

    async def save(self):
        return "saved"
""",
    "apps/main/routes/r.py": """
from mega.plugins.http import get, post
from apps.main.controllers.c import C

routes = [get("/boom", C.boom, name="boom"), post("/save", C.save, name="save")]
""",
    "apps/main/views/errors.html": (
        "<h1>{{ status }}</h1><p class='code'>{{ error.code }}</p>"
        "<p>{{ t('oops', status=status) }}</p><small>{{ request_id }}</small>"
    ),
    "apps/main/locales/server/en.json": '{"oops": "Something went wrong ({status})"}',
}
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_browsers_get_the_page_and_api_clients_the_envelope(http_project):
    settings = {"error_page": "errors.html", "max_body_bytes": 64}
    async with http_project(FILES, settings) as (_, client):
        missing = await client.get("/nope", headers=HTML)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>404</h1><p class='code'>http.not_found</p>" in missing.text
        assert "Something went wrong (404)" in missing.text
        assert missing.headers["x-request-id"] in missing.text
        assert "content-security-policy" in missing.headers  # a document's headers
        boom = await client.get("/boom", headers=HTML)
        assert (boom.status_code, "internal.error" in boom.text) == (500, True)
        assert "kaput" not in boom.text  # nothing more than the envelope said
        too_large = await client.post("/save", content=b"x" * 100, headers=HTML)
        assert (too_large.status_code, "request.too_large" in too_large.text) == (413, True)
        for accept in ("application/json", "*/*"):
            api = await client.get("/nope", headers={"accept": accept})
            assert api.json()["error"]["code"] == "http.not_found"
        ok = await client.post("/save", headers=HTML)  # successes pass through untouched
        assert ok.json() == {"ok": True, "data": "saved"}


async def test_a_refused_csrf_token_is_a_page_for_a_form(http_project):
    settings = {"error_page": "errors.html", "session": {"secret_key": SECRET}}
    async with http_project(FILES, settings) as (_, client):
        client.cookies.set("mega_session", "anything")  # a session cookie: CSRF applies
        await client.get("/nope")  # (a real session cookie)
        refused = await client.post("/save", data={"csrf_token": "forged"}, headers=HTML)
        assert refused.status_code == 403
        assert "<p class='code'>csrf.invalid</p>" in refused.text


async def test_an_error_page_that_does_not_exist_fails_the_boot(http_project):
    with pytest.raises(MegaConfigError) as err:
        async with http_project(FILES, {"error_page": "nope.html"}):
            pass
    assert err.value.code == "http.template_not_found"
    assert "[plugins.http] error_page = 'nope.html'" in err.value.message


async def test_a_page_that_fails_to_render_leaves_the_envelope(http_project):
    files = {**FILES, "apps/main/views/errors.html": "{{ undefined_name }}"}
    async with http_project(files, {"error_page": "errors.html"}) as (_, client):
        missing = await client.get("/nope", headers=HTML)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "http.not_found"
