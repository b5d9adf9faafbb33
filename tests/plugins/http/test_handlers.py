"""Routes to controller methods: validated inputs, the envelope, every 4xx/5xx an envelope."""

from __future__ import annotations

import pytest

CONTROLLER = '''
from pydantic import BaseModel, Field
from starlette.responses import PlainTextResponse

from mega import MegaError
from mega.plugins.http import HttpCtx


class NewUser(BaseModel):
    name: str = Field(min_length=1)
    age: int = Field(ge=0)


class UsersController:
    async def show(self, ctx: HttpCtx, user_id: int, verbose: bool = False) -> dict:
        """Show one user."""
        return {"id": user_id, "verbose": verbose}

    async def search(self, tags: list[str], limit: int = 10) -> dict:
        return {"tags": tags, "limit": limit}

    async def create(self, ctx: HttpCtx, body: NewUser) -> NewUser:
        ctx.status = 201
        ctx.headers = {"location": "/users/1"}
        return body

    def plain(self):
        return PlainTextResponse("untouched", headers={"x-own": "1"})

    async def teapot(self):
        raise MegaError("user.teapot", "I am a teapot", {"why": "tea"}, http_status=418)

    async def crash(self, ctx: HttpCtx):
        raise RuntimeError("secret internals")

    async def forget(self, ctx: HttpCtx, user_id: int) -> None:
        ctx.status = 204
'''
ROUTES = """
from mega.plugins.http import delete, get, post
from apps.main.controllers.users import UsersController

routes = [
    get("/users/{user_id}", UsersController.show, name="users.show"),
    get("/search", UsersController.search, name="users.search"),
    post("/users", UsersController.create, name="users.create"),
    get("/plain", UsersController.plain, name="plain"),
    get("/teapot", UsersController.teapot, name="teapot"),
    get("/crash", UsersController.crash, name="crash"),
    delete("/sessions/{user_id}", UsersController.forget, name="users.forget"),
]
"""
FILES = {"apps/main/controllers/users.py": CONTROLLER, "apps/main/routes/users.py": ROUTES}


@pytest.fixture
async def client(http_project):
    async with http_project(FILES, {"max_body_bytes": 64}) as (_, http):
        yield http


def error(response):
    body = response.json()
    assert body["ok"] is False
    return body["error"]


async def test_path_and_query_values_are_validated_and_the_result_enveloped(client):
    response = await client.get("/users/7", params={"verbose": "true"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "data": {"id": 7, "verbose": True}}
    assert response.headers["content-type"] == "application/json"


async def test_repeated_query_values_fill_a_list_parameter(client):
    response = await client.get("/search?tags=a&tags=b")
    assert response.json()["data"] == {"tags": ["a", "b"], "limit": 10}


async def test_every_invalid_field_is_listed_with_its_location(client):
    response = await client.get("/users/seven", params={"verbose": "maybe"})
    assert response.status_code == 422
    err = error(response)
    assert err["code"] == "request.invalid"
    assert [e["field"] for e in err["details"]["errors"]] == ["path.user_id", "query.verbose"]
    missing = await client.get("/search")
    assert error(missing)["details"]["errors"][0]["field"] == "query.tags"


async def test_a_json_body_is_validated_and_status_and_headers_can_be_set(client):
    created = await client.post("/users", json={"name": "ada", "age": 36})
    assert created.status_code == 201
    assert created.headers["location"] == "/users/1"
    assert created.json()["data"] == {"name": "ada", "age": 36}
    invalid = await client.post("/users", json={"name": "", "age": -1})
    assert [e["field"] for e in error(invalid)["details"]["errors"]] == ["body.name", "body.age"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "request.invalid_json"),
        (b"name: ada", "text/yaml", 415, "request.unsupported_media_type"),
        (b"x" * 65, "application/json", 413, "request.too_large"),
    ],
)
async def test_malformed_unsupported_and_oversized_bodies_get_clear_4xx(
    client, content, content_type, status, code
):
    response = await client.post("/users", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert error(response)["code"] == code


async def test_a_streamed_body_over_the_limit_is_refused_without_content_length(client):
    async def chunks():
        for _ in range(5):
            yield b'{"name": "aaaaaaaaaaaaaaaa"}'

    response = await client.post(
        "/users", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert error(response)["code"] == "request.too_large"


async def test_a_returned_response_passes_through_untouched(client):
    response = await client.get("/plain")
    assert response.text == "untouched" and response.headers["x-own"] == "1"
    assert response.headers["x-content-type-options"] == "nosniff"  # still gets the headers


async def test_a_mega_error_maps_to_its_status_and_code(client):
    response = await client.get("/teapot")
    assert response.status_code == 418
    assert error(response) == {
        "code": "user.teapot",
        "message": "I am a teapot",
        "details": {"why": "tea"},
    }


async def test_an_unknown_exception_is_a_500_with_the_request_id_and_no_internals(client):
    response = await client.get("/crash", headers={"x-request-id": "req-123"})
    assert response.status_code == 500
    err = error(response)
    assert err["code"] == "internal.error"
    assert err["details"] == {"request_id": "req-123"}
    assert "secret internals" not in response.text
    assert response.headers["x-request-id"] == "req-123"


async def test_debug_mode_shows_the_traceback(http_project):
    async with http_project(FILES, debug=True) as (_, http):
        response = await http.get("/crash")
    assert "secret internals" in "".join(error(response)["details"]["traceback"])


async def test_unknown_paths_and_methods_get_404_and_405_envelopes(client):
    missing = await client.get("/nowhere")
    assert (missing.status_code, error(missing)["code"]) == (404, "http.not_found")
    wrong = await client.delete("/users/1")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD"
    assert error(wrong)["details"]["allowed"] == ["GET", "HEAD"]


async def test_every_response_has_a_request_id_and_its_security_headers(client):
    response = await client.get("/users/1")
    assert len(response.headers["x-request-id"]) == 16
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers  # JSON: the API set
    assert "strict-transport-security" not in response.headers  # plain http
    page = await client.get("/plain")  # a document gets the document headers too
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    kept = await client.get("/users/1", headers={"x-request-id": "abc-1"})
    assert kept.headers["x-request-id"] == "abc-1"
    junk = await client.get("/users/1", headers={"x-request-id": "<script>"})
    assert junk.headers["x-request-id"] != "<script>"


async def test_document_headers_can_be_sent_on_json_too(http_project):
    settings = {"security_headers": {"document_headers_on_json": True}}
    async with http_project(FILES, settings) as (_, http):
        response = await http.get("/users/1")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


async def test_hsts_is_sent_on_https_only(http_project):
    async with http_project(FILES) as (app, _):
        from mega.testing import http_client

        async with http_client(app, base_url="https://testserver") as https:
            response = await https.get("/users/1")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_a_204_carries_no_body(client):
    response = await client.delete("/sessions/3")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
