"""schemathesis over the whole API of a running `mega serve` of this app, every check on, positive
and negative data, anonymous and signed in: no 5xx, and every answer is what /openapi.json says.

Bounded for CI: a few examples per operation and mode (``CRUD_FUZZ_EXAMPLES``, default 8).
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from mega.testing.services import delete_streams, free_port, reachable
from tests.conftest import ROOT, _pg

EXAMPLES = int(os.environ.get("CRUD_FUZZ_EXAMPLES", "8"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Every check on, with schemathesis's expected statuses widened by what this app answers on
# purpose: a page redirects an anonymous visitor to sign in (303) before it reads any input;
# the service refuses input that is valid by the schema but not by the app's own rules with
# 422 (a weak password, wrong credentials: rules JSON Schema cannot state), and a page cursor
# it did not issue with 400 (``after`` is opaque: only the server can tell a forged one).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "409",
                    "413",
                    "415",
                    "422",
                    "303",
                ]
            },
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429"]
            },
        }
    }
)


@pytest.fixture
def server(state: dict[str, str], template_db: str | None, tmp_path: Path) -> Iterator[str]:
    """A `mega serve` of the app on this test's own migrated state; yields its base URL."""
    env = {**os.environ, "MEGA__PLUGINS__SCHEDULE__START": "false"}
    if template_db is not None:
        name = state["MEGA__ADAPTERS__DB__DEFAULT__DSN"].rsplit("/", 1)[1]
        asyncio.run(_pg(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    else:
        subprocess.run(
            [sys.executable, "-m", "mega", "migrate", "up"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    port = free_port()
    log = tmp_path / "serve.log"  # a file, not a pipe: a full pipe would stall the server
    process = subprocess.Popen(
        [sys.executable, "-m", "mega", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", port, timeout=0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mega serve did not start: {log.read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if template_db is not None:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            asyncio.run(delete_streams(state["MEGA__ADAPTERS__BUS__DEFAULT__STREAM_PREFIX"]))


def new_session() -> requests.Session:
    session = requests.Session()
    session.request = functools.partial(session.request, timeout=30)  # type: ignore[method-assign]
    return session


def signed_in(base: str) -> tuple[requests.Session, dict[str, str]]:
    """A new member's session and the CSRF header its unsafe requests carry."""
    session = new_session()
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    registered = session.post(
        f"{base}/api/register",
        json={"email": email, "name": "Fuzz", "password": "quiet-river-2024"},
    )
    assert registered.status_code == 201, registered.text
    token = session.get(f"{base}/api/session").json()["data"]["csrf_token"]
    return session, {"x-csrf-token": token}


def fuzz(operation: Any, mode: GenerationMode, base: str, *, signed: bool) -> None:
    """One operation in one mode, on a fresh session (a case may sign it out or delete it)."""
    session, headers = signed_in(base) if signed else (new_session(), {})

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base, session=session, headers=headers)

    check()


def run(base: str, *, signed: bool) -> list[str]:
    """Every operation, both modes; the failures as text (empty: none)."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=CONFIG)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            try:
                fuzz(operation, mode, base, signed=signed)
            except Unsatisfiable:  # negative mode of an operation with nothing to negate
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collected, reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


@pytest.mark.parametrize("signed", [False, True], ids=["anonymous", "signed-in"])
def test_the_api_conforms_to_its_openapi_document(server: str, signed: bool) -> None:
    # bounded by the examples per operation (CONFIG), not by a clock: a busy machine is slow
    failures = run(server, signed=signed)
    assert not failures, "\n\n".join(failures)
