"""``mega run``: SIGINT/SIGTERM shut down gracefully; a second signal forces the exit."""

from __future__ import annotations

import signal
import time

import pytest

MARKER_PLUGIN = """
import asyncio, os, pathlib

@hookimpl
async def mega_before_shutdown(app):
    marker = pathlib.Path(os.environ["MARKER"])
    marker.write_text("started")
    await asyncio.sleep(float(os.environ.get("SHUTDOWN_SLEEP", "0")))
    marker.write_text("finished")
"""


@pytest.fixture
def start(mega, start_mega_run):
    def run(project, marker, sleep="0"):
        env = mega.env() | {"MARKER": str(marker), "SHUTDOWN_SLEEP": sleep}
        return start_mega_run(project, env)

    return run


@pytest.fixture
def marked_project(mega, project, site, tmp_path, enable):
    site.plugin("marker", MARKER_PLUGIN)
    enable("marker")
    return project, tmp_path / "marker.txt"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_runs_a_graceful_shutdown(start, marked_project, sig):
    project, marker = marked_project
    proc = start(project, marker)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert marker.read_text() == "finished"
    assert "graceful shutdown" in err and "stopped cleanly" in err


def test_a_second_signal_forces_the_exit(start, marked_project):
    project, marker = marked_project
    proc = start(project, marker, sleep="60")
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 20
    while marker.exists() is False and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "started"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGINT
    assert "forced exit" in err
    assert marker.read_text() == "started"


def test_run_outside_a_project_explains_what_is_missing(mega):
    result = mega("run", "--once", ok=False)
    assert result.returncode == 1
    assert "error[config.not_found]" in result.stderr


def test_run_with_a_broken_config_reports_and_exits_1(mega, project):
    (project / "mega.toml").write_text('[app]\nplugins = ["memroy"]\n')
    result = mega("run", "--once", cwd=project, ok=False)
    assert result.returncode == 1
    assert (
        "error[plugin.unknown]: plugin 'memroy' is not known (did you mean 'memory'?)"
        in result.stderr
    )
