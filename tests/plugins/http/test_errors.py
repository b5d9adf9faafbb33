"""What an error answer carries: a 4xx says what was wrong; a 5xx says only its code, a generic
message and the request id (the cause goes to one error log line); bad input is never a 5xx."""

from __future__ import annotations

import pytest

from mega.log import add_log_sink, remove_log_sink

CONTROLLER = '''
from pydantic import BaseModel, Field
from starlette.responses import Response

from mega import MegaError
from mega.plugins.http import HttpCtx
from mega.plugins.http.responses import fail


class Note(BaseModel):
    title: str = Field(min_length=1)


class Broken:
    """A form page whose error phase fails on the very input the error is about."""

    def error(self, ctx: HttpCtx, exc: BaseException):
        return {"id": int(ctx.request.path_params["note_id"])}[3]


async def leak(ctx: HttpCtx):
    raise MegaError(
        "db.query_failed",
        "the database refused the statement: UndefinedColumnError: column password_hash",
        {"sql": "SELECT id, email, password_hash FROM users WHERE id = $1"},
    )


async def unavailable(ctx: HttpCtx):
    return fail(503, "maintenance", "down for maintenance")


async def crash(ctx: HttpCtx):
    raise RuntimeError("driver said: relation users does not exist")


async def show(ctx: HttpCtx, note_id: int) -> dict:
    return {"id": note_id}


async def create(ctx: HttpCtx, body: Note) -> dict:
    return {"title": body.title}


async def edit(ctx: HttpCtx, note_id: int, body: Note) -> dict:
    return {"id": note_id}


async def gone(ctx: HttpCtx, note_id: int) -> Response:
    return Response(status_code=404, headers={"cache-control": "no-store"})
'''
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.notes import Broken, crash, create, edit, gone, leak, show, unavailable

routes = [
    get("/leak", leak, name="leak"),
    get("/unavailable", unavailable, name="unavailable"),
    get("/crash", crash, name="crash"),
    get("/notes/{note_id}", show, name="show"),
    get("/notes/{note_id}/gone", gone, name="gone"),
    post("/notes", create, name="create", middleware=[Broken()]),
    post("/notes/{note_id}", edit, name="edit", middleware=[Broken()]),
]
"""
FILES = {"apps/main/controllers/notes.py": CONTROLLER, "apps/main/routes/notes.py": ROUTES}


class Sink:
    level = "error"

    def __init__(self) -> None:
        self.events: list[dict] = []

    def emit(self, event: dict) -> None:
        self.events.append(dict(event))


@pytest.fixture
def errors():
    sink = Sink()
    add_log_sink(sink)
    yield sink.events
    remove_log_sink(sink)


@pytest.fixture
async def client(http_project):
    async with http_project(FILES) as (_, http):
        yield http


async def test_a_5xx_carries_its_code_a_message_and_the_request_id_never_sql(client, errors):
    response = await client.get("/leak", headers={"x-request-id": "req-leak"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "db.query_failed"
    assert error["details"] == {"request_id": "req-leak"}
    assert "req-leak" in error["message"]
    assert "password_hash" not in response.text and "Undefined" not in response.text
    logged = [e for e in errors if e.get("request_id") == "req-leak"]
    assert len(logged) == 1
    assert logged[0]["event"] == "http.server_error" and logged[0]["code"] == "db.query_failed"
    assert "password_hash" in logged[0]["details"]["sql"]


async def test_debug_shows_the_internals_of_a_5xx(http_project):
    async with http_project(FILES, debug=True) as (_, http):
        response = await http.get("/leak")
    details = response.json()["error"]["details"]
    assert "password_hash" in details["internals"]["sql"]
    assert "UndefinedColumnError" in details["error"]
    assert details["traceback"]


async def test_an_unhandled_exception_is_one_error_line_with_the_request_id(client, errors):
    response = await client.get("/crash", headers={"x-request-id": "req-crash"})
    assert response.status_code == 500
    assert "relation users" not in response.text
    logged = [e for e in errors if e.get("request_id") == "req-crash"]
    assert [e["event"] for e in logged] == ["http.server_error"]
    assert "relation users" in logged[0]["error"]


async def test_a_5xx_a_handler_answers_itself_is_logged_once(client, errors):
    response = await client.get("/unavailable", headers={"x-request-id": "req-503"})
    assert response.status_code == 503
    logged = [e for e in errors if e.get("request_id") == "req-503"]
    assert len(logged) == 1 and logged[0]["status"] == 503


@pytest.mark.parametrize("body", [b"[null,null]", b"1", b'"s"', b"null", b"[]"])
async def test_a_json_body_that_is_not_an_object_is_a_422(client, errors, body):
    response = await client.post(
        "/notes", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "request.invalid"
    assert error["details"]["errors"][0]["field"] == "body"


async def test_an_error_phase_that_fails_answers_the_error_it_was_handling(client, errors):
    # the middleware's error phase raises (IndexError, ValueError on "abc"): the answer is the
    # 422 it was about, and the failure is logged
    for path in ("/notes", "/notes/abc"):
        response = await client.post(path, json={"title": ""})
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "request.invalid"
    assert [e["event"] for e in errors] == ["http.middleware_error_failed"] * 2


@pytest.mark.parametrize("note_id", [str(2**63), str(-(2**63) - 1), "9" * 40])
async def test_an_integer_path_value_past_64_bits_is_a_422_naming_it(client, note_id):
    response = await client.get(f"/notes/{note_id}")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == "path.note_id"
    assert (await client.get(f"/notes/{2**63 - 1}")).status_code == 200


async def test_an_error_response_without_a_body_gets_the_envelope(client):
    response = await client.get("/notes/1/gone")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "ok": False,
        "error": {"code": "http.404", "message": "Not Found", "details": {}},
    }
