"""OpenAPI 3.1 at /openapi.json, generated from the same models that validate requests."""

from __future__ import annotations

CONTROLLER = '''
from pydantic import BaseModel


class Pet(BaseModel):
    name: str
    age: int = 0


class Pets:
    async def show(self, pet_id: int, full: bool = False) -> Pet:
        """Fetch a pet."""
        return Pet(name="rex")

    async def create(self, body: Pet) -> Pet:
        return body
'''
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.pets import Pets

routes = [get("/pets/{pet_id}", Pets.show, name="pets.show"),
          post("/pets", Pets.create, name="pets.create")]
"""
FILES = {"apps/main/controllers/pets.py": CONTROLLER, "apps/main/routes/pets.py": ROUTES}


async def test_the_document_describes_parameters_bodies_and_the_envelope(http_project):
    async with http_project(FILES) as (_, client):
        doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    show = doc["paths"]["/pets/{pet_id}"]["get"]
    assert show["operationId"] == "pets.show" and show["summary"] == "Fetch a pet."
    assert {(p["name"], p["in"], p["required"]) for p in show["parameters"]} == {
        ("pet_id", "path", True),
        ("full", "query", False),
    }
    ok = show["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"]["data"] == {"$ref": "#/components/schemas/Pet"}
    create = doc["paths"]["/pets"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Pet"
    }
    assert set(doc["components"]["schemas"]) == {"Pet", "ErrorEnvelope"}


async def test_the_docs_page_lists_the_routes_and_can_be_turned_off(http_project):
    async with http_project(FILES) as (_, client):
        page = await client.get("/docs")
    assert page.status_code == 200 and "/pets/{pet_id}" in page.text
    async with http_project(FILES, {"openapi": False}) as (_, client):
        assert (await client.get("/openapi.json")).status_code == 404


DECLARED = '''
from typing import Any

from pydantic import BaseModel
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mega.plugins.http import HttpCtx


class Probe(BaseModel):
    """What the probe answers."""

    status: str


async def create(ctx: HttpCtx) -> dict:
    return {"id": 1}


async def page(ctx: HttpCtx) -> Any:
    return HTMLResponse("<p>hi</p>")


async def home(ctx: HttpCtx) -> RedirectResponse:
    return RedirectResponse("/", 303)


async def picture(ctx: HttpCtx, pic_id: int) -> Response:
    return Response(b"..", media_type="image/png")


async def probe(ctx: HttpCtx) -> Response:
    return Response(b'{"status": "ok"}', media_type="application/json")
'''
DECLARED_ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.declared import Probe, create, home, page, picture, probe

routes = [
    post("/things", create, name="things.create", status=201),
    get("/page", page, name="page", page=True),
    get("/home", home, name="home"),
    get("/pictures/{pic_id}", picture, name="picture"),
    get("/probe", probe, name="probe", responses={200: Probe, 503: Probe}),
]
"""
DECLARED_FILES = {
    "apps/main/controllers/declared.py": DECLARED,
    "apps/main/routes/declared.py": DECLARED_ROUTES,
}


async def test_the_document_lists_the_status_media_types_and_answers_a_route_gives(http_project):
    async with http_project(DECLARED_FILES, {"error_page": None}) as (_, client):
        doc = (await client.get("/openapi.json")).json()
        created = await client.post("/things")
    paths = doc["paths"]
    create = paths["/things"]["post"]["responses"]
    assert set(create) == {"201", "4XX", "5XX"} and created.status_code == 201
    page = paths["/page"]["get"]["responses"]
    assert set(page) == {"200", "3XX", "4XX", "5XX"}
    assert set(page["200"]["content"]) == {"text/html"}
    assert set(page["4XX"]["content"]) == {"application/json", "text/html"}
    assert set(paths["/home"]["get"]["responses"]) == {"3XX", "4XX", "5XX"}
    picture = paths["/pictures/{pic_id}"]["get"]["responses"]
    assert set(picture["200"]["content"]) == {"*/*"}
    assert set(picture["4XX"]["content"]) == {"application/json"}
    probe = paths["/probe"]["get"]["responses"]
    assert probe["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Probe"
    }
    assert probe["200"]["description"] == "What the probe answers."


async def test_integer_parameters_are_documented_with_their_64_bit_bounds(http_project):
    async with http_project(FILES) as (_, client):
        doc = (await client.get("/openapi.json")).json()
    pet_id = doc["paths"]["/pets/{pet_id}"]["get"]["parameters"][0]["schema"]
    assert (pet_id["minimum"], pet_id["maximum"]) == (-(2**63), 2**63 - 1)


def test_a_route_status_must_be_a_success_and_responses_keys_statuses():
    import pytest

    from mega import MegaConfigError
    from mega.plugins.http import get

    with pytest.raises(MegaConfigError, match="status=500"):
        get("/x", lambda: None, status=500)
    with pytest.raises(MegaConfigError, match="'teapot'"):
        get("/x", lambda: None, responses={"teapot": None})
