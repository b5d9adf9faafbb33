"""`mega g controller|route|middleware|locale`, `mega routes`, `mega serve`, as users run them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from mega.testing.services import free_port

LIFECYCLE = """
import os, pathlib

def _note(what):
    with open(os.environ["LIFECYCLE_LOG"], "a") as fh:
        fh.write(f"{what} {os.getpid()}\\n")

@hookimpl
def mega_after_boot(app):
    _note("booted")

@hookimpl
def mega_before_shutdown(app):
    _note("stopped")
"""


@pytest.fixture
def web(project, enable):
    enable("http")
    return project


def test_generated_http_code_passes_its_own_tests(mega, web):
    for generator, name in [
        ("controller", "users"),
        ("route", "health"),
        ("middleware", "timing"),
        ("locale", "en"),
        ("locale", "ko"),
    ]:
        mega("g", generator, name, cwd=web)
    tests = mega.pytest(web)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "8 passed" in tests.stdout  # 3 from mega new, 5 generated


def test_routes_lists_method_path_name_handler_and_middleware(mega, web):
    mega("g", "controller", "users", cwd=web)
    rows = json.loads(mega("routes", "--json", cwd=web).stdout)
    assert {(r["method"], r["path"], r["name"]) for r in rows} == {
        ("GET", "/", "home"),
        ("GET", "/users", "users.index"),
        ("GET", "/users/{item_id}", "users.show"),
        ("POST", "/users", "users.create"),
    }
    handlers = {r["name"]: r["handler"] for r in rows}
    assert handlers["users.index"] == "apps.main.controllers.users:UsersController.index"
    assert "users.index" in mega("routes", cwd=web).stdout


def wait_for_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return json.loads(r.read())
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    raise AssertionError("mega serve did not answer")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_boots_each_worker_once_and_shuts_down_on_sigterm(
    mega, project, site, enable, tmp_path, workers
):
    site.plugin("lifecycle", LIFECYCLE)
    enable("http", "lifecycle")
    web = project
    mega("g", "route", "health", cwd=web)
    log = tmp_path / "lifecycle.log"
    port = free_port()
    env = mega.env() | {"LIFECYCLE_LOG": str(log)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mega", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=web,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = wait_for_port(port, proc)
        assert body["ok"] is True and body["data"]["route"] == "health"
        deadline = time.monotonic() + 20
        while (
            not log.exists() or log.read_text().count("booted") < workers
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn re-raises SIGTERM once its graceful shutdown is done: the conventional exit by signal
    assert proc.returncode in (0, -signal.SIGTERM)
    lines = log.read_text().split("\n")
    booted = {line.split()[1] for line in lines if line.startswith("booted")}
    stopped = {line.split()[1] for line in lines if line.startswith("stopped")}
    assert len(booted) == workers  # one boot per worker process
    assert sum(line.startswith("booted") for line in lines) == workers
    assert stopped == booted  # and each shut down once


def test_serve_without_the_http_plugin_says_how_to_enable_it(mega, project):
    toml = project / "mega.toml"
    toml.write_text(
        toml.read_text().replace('plugins = ["memory", "http"]', 'plugins = ["memory"]')
    )
    result = mega("serve", cwd=project, ok=False)
    assert result.returncode == 1
    assert "no such command 'serve'" in result.stderr or "http" in result.stderr
