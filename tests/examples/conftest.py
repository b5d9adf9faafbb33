"""Running examples/crud as its users do: a copy of the app, `mega migrate up`, the seed script,
`mega serve` and `mega worker` processes — on SQLite, or on PostgreSQL + NATS + Redis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mega.testing.services import delete_streams

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "crud"
PG = "postgresql://postgres@127.0.0.1:5432"
SECRET = "example-test-secret-key-0123456789-abcdefghij"
DEMO = ("demo@example.com", "mega-crud-2026")


def copy_example(target: Path) -> Path:
    """The app's source as a fresh clone has it: no database, no .env, only the journal."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        skip = [n for n in names if n in {".env", "__pycache__", ".pytest_cache"}]
        if Path(folder).name == ".mega":
            skip += [n for n in names if n != "journal"]
        return skip

    shutil.copytree(EXAMPLE, target, ignore=ignore)
    return target


@dataclass
class Crud:
    """One copy of the app and the processes started for it (stopped at the end of the test)."""

    root: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def mega(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mega", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"mega {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def setup(self, *, seed: bool = True) -> None:
        self.mega("migrate", "up")
        if seed:
            self.seed()

    def seed(self) -> None:
        done = subprocess.run(
            [sys.executable, "scripts/seed.py"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-2000:]

    def start(self, *args: str, log: str) -> subprocess.Popen[str]:
        out = (self.root / log).open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mega", *args],
            cwd=self.root,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def serve(self, *, log: str = "serve.log") -> tuple[subprocess.Popen[str], str]:
        from mega.testing.services import free_port, reachable

        port = free_port()
        proc = self.start("serve", "--port", str(port), log=log)
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", port, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mega serve did not start: {(self.root / log).read_text()}")
            time.sleep(0.05)
        return proc, f"http://127.0.0.1:{port}"

    def outbox(self) -> Path:
        return self.root / ".mega" / "outbox"

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _base_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MEGA__") and k != "MEGA_PROFILE"
    }
    env |= {"MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY": SECRET, "NO_COLOR": "1"}
    return env


@pytest.fixture
def crud(tmp_path: Path) -> Iterator[Crud]:
    """examples/crud on its default profile (SQLite, local bus): migrated and seeded."""
    app = Crud(copy_example(tmp_path / "crud"), _base_env())
    app.setup()
    try:
        yield app
    finally:
        app.stop_all()


def _pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def crud_distributed(tmp_path: Path) -> Iterator[Crud]:
    """examples/crud with MEGA_PROFILE=distributed: a database, key prefixes, a stream prefix
    and an app name of its own; migrated, not seeded (the seed's 25 welcome jobs would queue
    ahead of a test's own)."""
    from mega.testing.services import require

    for service in ("postgres", "redis", "nats"):
        require(service)
    tag = uuid.uuid4().hex[:10]
    database = f"crud_e2e_{tag}"
    env = _base_env() | {
        "MEGA_PROFILE": "distributed",
        "MEGA__APP__NAME": f"crud_{tag}",
        "MEGA__ADAPTERS__DB__DEFAULT__DSN": f"{PG}/{database}",
        "MEGA__ADAPTERS__CACHE__DEFAULT__KEY_PREFIX": f"crud-e2e:{tag}:cache:",
        "MEGA__ADAPTERS__SESSION__DEFAULT__KEY_PREFIX": f"crud-e2e:{tag}:session:",
        "MEGA__ADAPTERS__LOCK__DEFAULT__KEY_PREFIX": f"crud-e2e:{tag}:lock:",
        "MEGA__ADAPTERS__BUS__DEFAULT__STREAM_PREFIX": f"CRUD_E2E_{tag}",
    }
    _pg(f'CREATE DATABASE "{database}"')
    app = Crud(copy_example(tmp_path / "crud"), env)
    try:
        app.setup(seed=False)
        yield app
    finally:
        app.stop_all()
        _pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        asyncio.run(delete_streams(env["MEGA__ADAPTERS__BUS__DEFAULT__STREAM_PREFIX"]))


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
