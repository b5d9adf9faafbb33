"""mega-duckdb passes mega's dialect conformance kit, and is found through its entry point."""

from __future__ import annotations

import pytest
from mega_duckdb import DuckDatabase, DuckOptions

from mega.testing import boot_app
from mega.testing.dialect_suite import *  # noqa: F403
from mega.testing.dialect_suite import connected_databases


@pytest.fixture
async def db_factory(tmp_path):
    options = DuckOptions(path=str(tmp_path / "kit.duckdb"))
    async with connected_databases(lambda: DuckDatabase(alias="kit", options=options)) as make:
        yield make


async def test_the_plugin_is_discovered_and_serves_ctx_db(tmp_path):
    config = {
        "app": {"plugins": ["duckdb"]},
        "adapters": {"db": {"default": {"driver": "duckdb", "path": str(tmp_path / "a.duckdb")}}},
    }
    async with boot_app(config) as app:
        db = app.ctx().db()
        assert isinstance(db, DuckDatabase)
        assert await db.fetch_val("SELECT 40 + 2") == 42
