"""CRUD on {{ Name }} against MongoDB: the server in MEGA_TEST_MONGO_URL, else the project's
``[adapters.db.default] url``; each run uses a database of its own and drops it. Skipped when
no server answers (failed under MEGA_REQUIRE_SERVICES=1)."""

import os
import tomllib
import uuid
from pathlib import Path

import pytest

from mega.plugins.db import CreateTable
from mega.plugins.mongo import MongoDatabase, MongoOptions

from apps.{{ app }}.models.{{ snake }} import {{ Name }}


def _url():
    if os.environ.get("MEGA_TEST_MONGO_URL"):
        return os.environ["MEGA_TEST_MONGO_URL"]
    config = tomllib.loads((Path(__file__).resolve().parents[2] / "mega.toml").read_text())
    return config["adapters"]["db"]["default"].get("url", "mongodb://127.0.0.1:27017")


@pytest.fixture
async def db():
    options = MongoOptions(
        url=_url(), database=f"test_{uuid.uuid4().hex[:12]}", server_selection_timeout_ms=2_000
    )
    database = MongoDatabase(alias="test", options=options)
    try:
        await database.connect()
    except Exception as exc:
        if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"no MongoDB server: {exc}")
    await database.apply([CreateTable({{ Name }}.table_def())])
    yield database
    await database.command("dropDatabase")
    await database.close()


async def test_{{ snake }}_crud(db):
    key = await db.insert({{ Name }}, {"name": "first", "notes": "hello", "tags": ["a", "b"]})
    row = await db.get({{ Name }}, key)
    assert row is not None and row["name"] == "first" and row["tags"] == ["a", "b"]

    await db.update({{ Name }}, {"name": "renamed"}, {{ Name }}.id == key)
    found = await db.find({{ Name }}, {{ Name }}.name.startswith("ren"))
    assert [r["id"] for r in found] == [key]
    page = await db.page({{ Name }}, order_by="name", limit=10)
    assert [r["id"] for r in page.items] == [key] and page.next is None

    assert await db.delete({{ Name }}, {{ Name }}.id == key) == 1
    assert await db.count({{ Name }}) == 0


def test_{{ snake }}_validates_input():
    assert {{ Name }}.validate({"name": "ok"}) == {"name": "ok"}
    assert "name" in {{ Name }}.json_schema()["required"]
