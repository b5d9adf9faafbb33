"""schemathesis against the app's own /openapi.json: no 500s, every response matches the schema.

Bounded: a few dozen generated requests per operation against a real `mega serve` process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from mega.testing.services import free_port, reachable

APP = Path(__file__).resolve().parent / "fuzz_app"


@pytest.fixture(scope="module")
def api_schema():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mega", "serve", "--port", str(port)],
        cwd=APP,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", port, timeout=0.2):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mega serve did not start: {server.stderr.read()!r}")
            time.sleep(0.1)
        yield schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


def test_the_schema_has_every_operation(api_schema):
    assert {f"{op.method.upper()} {op.path}" for op in operations(api_schema)} == {
        "GET /notes",
        "GET /notes/{note_id}",
        "POST /notes",
        "PUT /notes/{note_id}",
        "DELETE /notes/{note_id}",
    }


def test_the_api_never_fails_and_always_matches_its_schema(api_schema):
    # schemathesis's own pytest plugin does not support pytest 9 yet; drive each operation's
    # Hypothesis strategy directly
    for operation in operations(api_schema):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            case.call_and_validate()

        check()
