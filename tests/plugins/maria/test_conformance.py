"""The maria db driver passes the dialect conformance kit against the real MariaDB."""

from __future__ import annotations

import uuid

import pytest

from mega.plugins.db.dialect_suite import *  # noqa: F403
from mega.plugins.db.testing import connected_databases
from mega.plugins.maria import MariaDatabase, MariaOptions
from mega.testing.services import require


@pytest.fixture
async def db_factory():
    require("maria")
    name = f"mega_kit_{uuid.uuid4().hex[:12]}"
    admin = MariaDatabase(alias="admin", options=MariaOptions(pool_max=1))
    await admin.connect()
    await admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    options = MariaOptions(database=name, pool_max=4)
    try:
        async with connected_databases(lambda: MariaDatabase(alias="kit", options=options)) as m:
            yield m
    finally:
        await admin.execute(f"DROP DATABASE `{name}`")
        await admin.close()
