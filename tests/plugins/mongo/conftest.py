"""A MongoDB server for the mongo tests: mongoeco in its own Python 3.13 venv, or a real one.

``MEGA_TEST_MONGO_URL=mongodb://…`` points every mongo test at that server instead (transactions
then follow what the server says: a replica set has them, a standalone mongod does not).
Otherwise one mongoeco process (``make mongoeco`` installs it into .venv-mongoeco) is started
on a free 127.0.0.1 port for the session and stopped by its PID. Each test gets a database of
its own, dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mega.plugins.db.testing import connected_databases
from mega.plugins.mongo import MongoDatabase, MongoOptions
from mega.testing.services import free_port, reachable

REPO = Path(__file__).resolve().parents[3]
SERVER = Path(__file__).with_name("mongoeco_server.py")


@dataclass(frozen=True)
class MongoServer:
    url: str
    #: the ``transactions`` option the tests use: mongoeco has them on a standalone server
    #: (a real mongod does not: "auto" asks it)
    transactions: str
    #: True for the fixture's own mongoeco process
    own: bool


def unavailable(reason: str) -> None:
    if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and MEGA_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def mongoeco_python() -> Path:
    return Path(os.environ.get("MEGA_MONGOECO_PYTHON", REPO / ".venv-mongoeco" / "bin" / "python"))


def start_mongoeco(*users: str) -> tuple[subprocess.Popen[bytes], int]:
    """A mongoeco process on a free port (``users``: ``"name:password"`` it requires)."""
    python = mongoeco_python()
    if not python.exists():
        unavailable(f"mongoeco is not installed at {python}: run `make mongoeco`")
    port = free_port()
    proc = subprocess.Popen(
        [str(python), str(SERVER), str(port), *users],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not reachable("127.0.0.1", port, timeout=0.2):
        if proc.poll() is not None:
            error = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            unavailable(f"mongoeco exited with {proc.returncode}: {error}")
        if time.monotonic() > deadline:
            stop(proc)
            unavailable(f"mongoeco did not listen on 127.0.0.1:{port} within 30 s")
        time.sleep(0.05)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    url = os.environ.get("MEGA_TEST_MONGO_URL")
    if url:
        yield MongoServer(url, "auto", own=False)
        return
    proc, port = start_mongoeco()
    try:
        yield MongoServer(f"mongodb://127.0.0.1:{port}/?directConnection=true", "on", own=True)
    finally:
        stop(proc)


async def drop_database(url: str, name: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=5_000
    )
    try:
        await client.drop_database(name)
    finally:
        await client.close()


@pytest.fixture
async def mongo_options(mongo_server: MongoServer) -> AsyncIterator[MongoOptions]:
    """Options for a database of the test's own, dropped afterwards."""
    options = MongoOptions(
        url=mongo_server.url,
        database=f"mega_t_{uuid.uuid4().hex[:12]}",
        transactions=mongo_server.transactions,  # type: ignore[arg-type]
        server_selection_timeout_ms=5_000,
    )
    yield options
    assert options.database is not None
    await drop_database(mongo_server.url, options.database)


@pytest.fixture
async def mongo_db(mongo_options: MongoOptions) -> AsyncIterator[MongoDatabase]:
    async with connected_databases(
        lambda: MongoDatabase(alias="test", options=mongo_options)
    ) as make:
        db = await make()
        assert isinstance(db, MongoDatabase)
        yield db
