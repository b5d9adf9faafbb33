"""The mongo db driver passes the dialect conformance kit (mongoeco, or MEGA_TEST_MONGO_URL)."""

from __future__ import annotations

import pytest

from mega.plugins.db.dialect_suite import *  # noqa: F403
from mega.plugins.db.testing import connected_databases
from mega.plugins.mongo import MongoDatabase, MongoOptions


@pytest.fixture
async def db_factory(mongo_options: MongoOptions):
    async with connected_databases(
        lambda: MongoDatabase(alias="kit", options=mongo_options)
    ) as make:
        yield make


@pytest.fixture
def kit_rows(mongo_server) -> int:
    # mongoeco's inserts slow down past a few hundred documents (1 000 unique keys: ~12 s);
    # a real server (MEGA_TEST_MONGO_URL) takes the kit's full size
    return 200 if mongo_server.own else 2_500
