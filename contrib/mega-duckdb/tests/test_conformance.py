"""mega-duckdb passes mega's dialect conformance kit, and is found through its entry point."""

from __future__ import annotations

import pytest
from mega_duckdb import DuckDatabase, DuckOptions

from mega.plugins.db.dialect_suite import *  # noqa: F403
from mega.plugins.db.testing import connected_databases
from mega.testing import boot_app


@pytest.fixture
async def db_factory(tmp_path):
    options = DuckOptions(path=str(tmp_path / "kit.duckdb"))
    async with connected_databases(lambda: DuckDatabase(alias="kit", options=options)) as make:
        yield make


async def test_the_plugin_is_discovered_and_serves_ctx_db(tmp_path):
    config = {
        "app": {"plugins": ["db", "duckdb"]},
        "adapters": {"db": {"default": {"driver": "duckdb", "path": str(tmp_path / "a.duckdb")}}},
    }
    async with boot_app(config) as app:
        db = app.ctx().db()
        assert isinstance(db, DuckDatabase)
        assert await db.fetch_val("SELECT 40 + 2") == 42
