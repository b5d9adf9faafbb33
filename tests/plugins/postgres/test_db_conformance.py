"""The postgres db driver passes the dialect conformance kit against the real server."""

from __future__ import annotations

import uuid

import pytest

from mega.plugins.db.dialect_suite import *  # noqa: F403
from mega.plugins.db.testing import connected_databases
from mega.plugins.postgres import PostgresDatabase, PostgresOptions
from mega.testing.services import require


@pytest.fixture
async def db_factory():
    require("postgres")
    options = PostgresOptions(schema_name=f"mega_kit_{uuid.uuid4().hex[:12]}", pool_max=4)
    async with connected_databases(lambda: PostgresDatabase(alias="kit", options=options)) as make:
        yield make
        cleaner = await make()
        await cleaner.execute(f'DROP SCHEMA "{options.schema_name}" CASCADE')
