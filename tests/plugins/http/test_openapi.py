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
