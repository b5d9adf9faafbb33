"""``mega dev``: serve, work and fire schedules, restarted on edits; a broken edit keeps the
previous version serving until it is fixed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from mega.cli.devlog import Output
from mega.testing.services import free_port

ROUTE = """
from mega.plugins.http import get


async def home(ctx):
    return {{"app": ctx.config.app.name, "version": {version!r}}}


routes = [get("/", home, name="home")]
"""

JOB = """
from pathlib import Path

from mega.plugins.jobs import Job


class Mark(Job):
    subject = "main.mark"
    retries = 0

    async def run(self, payload, ctx):
        Path(payload["path"]).write_text({version!r})
"""

SCHEDULE = """
import os
from pathlib import Path

from mega.plugins.schedule import Schedule


class Tick(Schedule):
    cron = "* * * * * *"  # every second

    async def run(self, ctx):
        Path(os.environ["TICKS"]).write_text(str(ctx.fire_time))
"""


def wait_for(check: Callable[[], object], what: str, timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())["data"]
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


class Dev:
    """``mega dev`` in a subprocess, its output in a file."""

    def __init__(self, project: Path, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mega", "dev", "--port", str(self.port), *args],
            cwd=project, env=env, stdin=subprocess.DEVNULL,
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, pattern: str, timeout: float = 30, start: int = 0) -> re.Match[str]:
        try:
            found = wait_for(
                lambda: re.search(pattern, self.output()[start:]) or self.proc.poll() is not None,
                f"{pattern!r} in mega dev's output",
                timeout,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; it printed:\n{self.output()[-3000:]}") from None
        assert isinstance(found, re.Match), f"mega dev exited:\n{self.output()}"
        return found

    def child_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r" pid (\d+)", self.output())}

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.kill()

    def kill(self) -> None:
        """Whatever is left: the supervisor and every child it started, by PID."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.child_pids():
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def start_dev(mega, tmp_path):
    started: list[Dev] = []

    def start(project: Path, *args: str, env: dict[str, str] | None = None) -> Dev:
        dev = Dev(project, env or mega.env(), tmp_path / f"dev-{len(started)}.log", *args)
        started.append(dev)
        return dev

    yield start
    for dev in started:
        dev.kill()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):  # reaped by the supervisor: gone
        os.waitpid(pid, os.WNOHANG)
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_an_edit_is_served_and_a_broken_config_keeps_the_old_server(project, start_dev):
    route = project / "apps/main/routes/home.py"
    route.write_text(ROUTE.format(version="v1"))
    dev = start_dev(project)
    dev.wait_output(r"serving http://127\.0\.0\.1:\d+")
    assert get(dev.url) == {"app": "shop", "version": "v1"}

    route.write_text(ROUTE.format(version="v2"))
    wait_for(lambda: get(dev.url) == {"app": "shop", "version": "v2"}, "the edited route", 3)

    toml = project / "mega.toml"
    good = toml.read_text()
    mark = len(dev.output())
    toml.write_text(good.replace('plugins = ["memory", "http"]', 'plugins = ["memroy", "http"]'))
    dev.wait_output(r"error\[plugin\.unknown\]: plugin 'memroy' is not known", start=mark)
    dev.wait_output(r"the previous version keeps running", start=mark)
    assert get(dev.url) == {"app": "shop", "version": "v2"}

    toml.write_text(good.replace('name = "shop"', 'name = "store"'))
    wait_for(lambda: get(dev.url) == {"app": "store", "version": "v2"}, "the fixed config")

    # one server per version that started; each said so once the previous one had stopped
    pids = wait_for(lambda: len(dev.child_pids()) == 3 and dev.child_pids(), "3 servers")
    assert isinstance(pids, set)
    assert dev.stop() == 0
    assert "dev: stopped" in dev.output()
    assert not [pid for pid in pids if alive(pid)]


def test_a_route_that_fails_to_import_keeps_the_old_server(project, start_dev):
    route = project / "apps/main/routes/home.py"
    route.write_text(ROUTE.format(version="v1"))
    dev = start_dev(project)
    dev.wait_output(r"serving http://")
    mark = len(dev.output())
    route.write_text(ROUTE.format(version="v2") + "\nthis is not python\n")
    dev.wait_output(r"shop did not start \(the error is above\)", start=mark)
    assert "home.py failed to import: NameError" in dev.output()[mark:]
    assert get(dev.url) == {"app": "shop", "version": "v1"}
    route.write_text(ROUTE.format(version="v3"))
    wait_for(lambda: get(dev.url) == {"app": "shop", "version": "v3"}, "the fixed route")
    assert dev.stop() == 0


def test_the_worker_and_schedules_run_and_restart_with_the_code(
    mega, project, enable, start_dev, tmp_path
):
    enable(
        "jobs", "schedule", "sqlite",
        extra='\n[adapters.bus.default]\ndriver = "local"\n'
        '[adapters.lock.default]\ndriver = "sqlite"\n',
    )  # fmt: skip
    job = project / "apps/main/jobs/mark.py"
    job.write_text(JOB.format(version="v1"))
    (project / "apps/main/schedules/tick.py").write_text(SCHEDULE)
    ticks, marker = tmp_path / "ticks.txt", tmp_path / "marker.txt"
    dev = start_dev(project, env=mega.env() | {"TICKS": str(ticks)})
    dev.wait_output(r"serving http://\S+ \(web pid \d+, worker pid \d+\)")
    wait_for(ticks.exists, "a schedule fire")

    def enqueue() -> None:
        code = f"await ctx.jobs.enqueue(Mark, {{'path': {str(marker)!r}}})"
        mega("console", "-c", code, cwd=project)

    enqueue()
    wait_for(lambda: marker.exists() and marker.read_text() == "v1", "the worker's run")
    mark = len(dev.output())
    job.write_text(JOB.format(version="v2"))
    dev.wait_output(r"worker pid \d+\)", start=mark)
    enqueue()
    wait_for(lambda: marker.read_text() == "v2", "the new worker's run")
    assert dev.stop() == 0


def test_once_starts_everything_then_stops(project, start_dev):
    dev = start_dev(project, "--once")
    assert dev.proc.wait(timeout=60) == 0
    out = dev.output()
    assert re.search(r"shop: serving http://127\.0\.0\.1:\d+ \(web pid \d+\)", out)
    assert "dev: stopped" in out


def test_a_broken_config_at_start_is_reported(mega, project):
    (project / "mega.toml").write_text('[app]\nplugins = ["memroy"]\n')
    result = mega("dev", "--once", cwd=project, ok=False)
    assert result.returncode == 1
    assert "error[plugin.unknown]" in result.stderr


def test_on_a_tty_json_lines_are_printed_compactly():
    out = Output(tty=True)
    line = out.compact(
        "web",
        '{"app":"shop","event":"http.request","level":"warning","status":404,'
        '"path":"/nope","timestamp":"2026-01-02T03:04:05Z"}',
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line or "")
    assert re.fullmatch(r"\d\d:\d\d:\d\d web +warning http\.request status=404 path=/nope", plain)
    assert out.compact("web", '{"logger":"uvicorn.error","event":"Started","level":"info"}') is None
    assert "error[x]: broken" in (out.compact("web", "error[x]: broken") or "")
    lines: list[str] = []
    Output(tty=False, write=lines.append).child_line("web", '{"event":"x"}')
    assert lines == ['{"event":"x"}']  # off a TTY, JSON lines stay as they are
