"""The crud app's tests run against either configuration, chosen like the app itself:

    pytest                                  # mega.toml: SQLite, local bus, files, memory
    MEGA_PROFILE=distributed pytest         # mega.distributed.toml: PostgreSQL, NATS, Redis

Every test boots the app on its own state: SQLite files in a tmp folder, or (distributed) a
PostgreSQL database copied from a migrated template, Redis key prefixes, a NATS stream prefix
and an app name of its own — removed afterwards. Services that are down skip the distributed
run (or fail it under MEGA_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tests.pages import Browser

from mega.testing import apply_migrations, boot_app, http_client
from mega.testing.services import delete_streams

ROOT = Path(__file__).resolve().parents[1]
PROFILE = os.environ.get("MEGA_PROFILE", "")
DISTRIBUTED = PROFILE == "distributed"
PG = "postgresql://postgres@127.0.0.1:5432"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_report_header() -> str:
    return f"crud profile: {PROFILE or 'default (mega.toml)'}"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def services() -> None:
    if DISTRIBUTED:
        from mega.testing.services import require

        for name in ("postgres", "redis", "nats"):
            require(name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def template_db(services: None) -> AsyncIterator[str | None]:
    """Distributed: one migrated database, copied for each test (CREATE DATABASE … TEMPLATE)."""
    if not DISTRIBUTED:
        yield None
        return
    name = f"crud_tpl_{uuid.uuid4().hex[:8]}"
    await _pg(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "MEGA__ADAPTERS__DB__DEFAULT__DSN": f"{PG}/{name}",
        "MEGA__PLUGINS__SCHEDULE__START": "false",
    }
    try:
        async with boot_app(root=ROOT, environ=_isolated(env)) as app:
            await apply_migrations(app)
        yield name
    finally:
        await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _isolated(env: dict[str, str]) -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return (
        {
            "MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY": SECRET,
            "MEGA__ADAPTERS__CACHE__DEFAULT__KEY_PREFIX": f"crud-test:{tag}:cache:",
            "MEGA__ADAPTERS__SESSION__DEFAULT__KEY_PREFIX": f"crud-test:{tag}:session:",
            "MEGA__ADAPTERS__LOCK__DEFAULT__KEY_PREFIX": f"crud-test:{tag}:lock:",
            "MEGA__ADAPTERS__BUS__DEFAULT__STREAM_PREFIX": f"CRUD_TEST_{tag}",
            **env,
        }
        if DISTRIBUTED
        else {"MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY": SECRET, **env}
    )


@pytest.fixture
def state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: str | None
) -> Iterator[dict[str, str]]:
    """This test's own databases, stores and outbox; set in the environment the app boots with."""
    env = {
        "CRUD_OUTBOX": str(tmp_path / "outbox"),
        "MEGA__APP__NAME": f"crud_{uuid.uuid4().hex[:8]}",
    }
    if DISTRIBUTED:
        env["MEGA__ADAPTERS__DB__DEFAULT__DSN"] = f"{PG}/crud_t_{uuid.uuid4().hex[:10]}"
    else:
        env |= {
            "MEGA__ADAPTERS__DB__DEFAULT__PATH": str(tmp_path / "crud.sqlite3"),
            "MEGA__ADAPTERS__BUS__DEFAULT__PATH": str(tmp_path / "jobs.sqlite3"),
            "MEGA__ADAPTERS__LOCK__DEFAULT__PATH": str(tmp_path / "locks.sqlite3"),
            "MEGA__ADAPTERS__SESSION__DEFAULT__PATH": str(tmp_path / "sessions"),
            "MEGA__ADAPTERS__CACHE__DEFAULT__PATH": str(tmp_path / "cache"),
        }
    env = _isolated(env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env


@pytest_asyncio.fixture
async def app(state: dict[str, str], template_db: str | None) -> AsyncIterator[Any]:
    """The app, booted on this test's state with its migrations applied."""
    if template_db is not None:
        name = state["MEGA__ADAPTERS__DB__DEFAULT__DSN"].rsplit("/", 1)[1]
        await _pg(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        async with boot_app(root=ROOT) as booted:
            if template_db is None:
                await apply_migrations(booted)
            yield booted
    finally:
        if template_db is not None:
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await delete_streams(state["MEGA__ADAPTERS__BUS__DEFAULT__STREAM_PREFIX"])


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as http:
        yield http


@pytest.fixture
def browser(client: httpx.AsyncClient) -> Browser:
    return Browser(client)


@pytest_asyncio.fixture
async def member(app: Any) -> dict[str, Any]:
    """A registered user: {"id", "email", "password", "name"}."""
    from apps.main.services.auth_service import AuthService

    password = "tulip-garden-42"
    user = await AuthService(app.ctx()).register(
        email="mina@example.com", name="Mina Park", password=password
    )
    return {
        "id": user["id"],
        "email": "mina@example.com",
        "password": password,
        "name": "Mina Park",
    }


@pytest_asyncio.fixture
async def admin(app: Any) -> dict[str, Any]:
    """A registered administrator: {"id", "email", "password", "name"}."""
    from apps.main.services.auth_service import AuthService

    password = "admin-desk-2026"
    user = await AuthService(app.ctx()).register(
        email="ada@example.com", name="Ada Admin", password=password, type_code="admin"
    )
    return {"id": user["id"], "email": "ada@example.com", "password": password, "name": "Ada Admin"}
