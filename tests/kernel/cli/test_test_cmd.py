"""``mega test``: the project's pytest with mega's fixtures, after naming the services its
adapters need that do not answer; pytest's arguments and exit status pass through."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mega.testing.services import free_port

PLAIN_TEST = """
def test_first():
    assert sorted([3, 1, 2]) == [1, 2, 3]


def test_second():
    assert "mega".upper() == "MEGA"
"""


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something accepts connections on (what a running server looks like)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_generated_tests_run_with_megas_fixtures(mega, project):
    result = mega("test", "-q", "-p", "no:cacheprovider", cwd=project / "apps")
    assert "3 passed" in result.stdout  # they use the app and client fixtures


def test_services_down_are_named_with_how_to_start_them(mega, project, listening):
    down = free_port()
    (project / "mega.toml").write_text(
        (project / "mega.toml").read_text()
        + f'\n[adapters.cache.shared]\ndriver = "redis"\nurl = "redis://127.0.0.1:{down}/0"\n'
        '\n[adapters.db.reports]\ndriver = "postgres"\n'
        f'dsn = "postgresql://postgres@127.0.0.1:{listening}/reports"\n'
    )
    (project / "tests" / "test_plain.py").write_text(PLAIN_TEST)
    result = mega("test", "tests/test_plain.py", "-q", "-p", "no:cacheprovider", cwd=project)
    assert f"redis 127.0.0.1:{down} DOWN (adapters cache.shared)" in result.stderr
    assert "redis: redis-server" in result.stderr
    assert f"postgres 127.0.0.1:{listening} up (adapters db.reports)" in result.stderr
    assert "postgres:" not in result.stderr.split("to start them:")[1]
    assert "2 passed" in result.stdout  # the check warns; the tests still run

    skipped = mega("test", "--no-check", "tests/test_plain.py", "-q", cwd=project)
    assert "DOWN" not in skipped.stderr and "2 passed" in skipped.stdout


def test_arguments_and_exit_status_are_pytests(mega, project):
    (project / "tests" / "test_plain.py").write_text(PLAIN_TEST + "\n\ndef test_no():\n    1 / 0\n")
    chosen = mega("test", "tests/test_plain.py", "-k", "first or second", "-q", cwd=project)
    assert "2 passed, 1 deselected" in chosen.stdout
    failed = mega("test", "tests/test_plain.py", "-q", cwd=project, ok=False)
    assert failed.returncode == 1 and "1 failed, 2 passed" in failed.stdout
    none = mega("test", "tests/test_plain.py", "-k", "nothing", "-q", cwd=project, ok=False)
    assert none.returncode == 5  # pytest's "no tests collected"


def test_embedded_adapters_need_no_service(mega, project):
    result = mega("test", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.stderr.strip() == ""


def test_outside_a_project_says_what_is_missing(mega):
    result = mega("test", ok=False)
    assert result.returncode == 1 and "error[config.not_found]" in result.stderr
