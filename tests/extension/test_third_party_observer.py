"""A separately built distribution (tests/extension/acme_observer: its own pyproject, found
through its entry point) observes every request, job run, schedule fire and db statement
through the hooks http, jobs, schedule and db declare — next to metrics and tracing, which use
the same hooks. Each of the three sees every event, and enabling or removing any one of them
changes nothing in what the other two report."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from mega.testing import boot_app, fire_schedule, http_client

DIST = Path(__file__).parent / "acme_observer"
BASE = ["http", "db", "sqlite", "jobs", "schedule"]
OBSERVERS = ("metrics", "tracing", "acme-observer")

APP_FILES = {
    "apps/__init__.py": "",
    "apps/main/__init__.py": "",
    "apps/main/jobs/ship.py": """
        from mega.plugins.jobs import Job


        class Ship(Job):
            subject = "acme.ship"

            async def run(self, payload, ctx):
                return await ctx.db().fetch_val("SELECT 2")
    """,
    "apps/main/routes/work.py": """
        from mega.plugins.http import get

        from apps.main.jobs.ship import Ship


        async def work(ctx, n: int):
            await ctx.db().fetch_val("SELECT 1")
            await ctx.jobs.enqueue(Ship, {"n": n})
            return {"n": n}


        routes = [get("/work/{n}", work)]
    """,
    "apps/main/schedules/report.py": """
        from mega.plugins.schedule import Schedule


        class Report(Schedule):
            cron = "0 0 1 1 *"

            async def run(self, ctx):
                return await ctx.db().fetch_val("SELECT 40 + 2")
    """,
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """acme-observer pip-installed into its own site directory, put on sys.path."""
    import shutil
    import subprocess

    source = tmp_path_factory.mktemp("src") / "acme_observer"
    shutil.copytree(DIST, source)  # a build writes beside the sources: not into the repo
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("acme_observer")]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, source in APP_FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget_apps()
    yield tmp_path
    _forget_apps()


def _forget_apps() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


async def run_scenario(root: Path, observers: tuple[str, ...]) -> dict[str, Any]:
    """A request (a query, an enqueue), the job's run (a query), a schedule fire (a query);
    what each enabled observer reported."""
    config = {
        "app": {"plugins": [*BASE, *observers], "name": "acme"},
        "plugins": {
            "schedule": {"start": False},
            "jobs": {"outbox_db": ""},
            "tracing": {"exporter": "memory", "db_queries": True},
        },
        "adapters": {
            "db": {"default": {"driver": "sqlite", "path": str(root / "app.db")}},
            "bus": {"default": {"driver": "local", "path": str(root / "jobs.db"), "poll_ms": 20}},
        },
    }
    if "tracing" not in observers:
        del config["plugins"]["tracing"]
    reported: dict[str, Any] = {}
    async with boot_app(config, root=root, environ={}) as app:
        async with http_client(app) as client:
            response = await client.get("/work/7")
        assert response.status_code == 200
        done: list[Any] = []
        jobs = app.ctx().jobs
        jobs.events.on("done", done.append)
        await jobs.start()
        deadline = time.monotonic() + 10
        while not done:
            assert time.monotonic() < deadline, "the job did not run"
            await asyncio.sleep(0.02)
        event = await fire_schedule(app, "Report")
        assert (event.name, event.result) == ("done", 42)
        await jobs.stop()
        if "acme-observer" in observers:
            reported["acme-observer"] = list(app.extensions["acme-observer"])
        if "metrics" in observers:
            text = await app.ctx().metrics.scrape()
            counted = ("mega_http_requests_total", "mega_jobs_", "mega_schedule_")
            reported["metrics"] = sorted(
                line
                for line in text.splitlines()
                # counts only: durations differ from run to run
                if line.startswith(counted) and "_seconds" not in line
            )
    if "tracing" in observers:
        spans = app.extensions["tracing"].finished_spans()
        reported["tracing"] = sorted(s.name for s in spans)
    return reported


async def test_a_third_party_observer_sees_everything_next_to_metrics_and_tracing(
    installed, project
):
    everything = await run_scenario(project, OBSERVERS)

    assert everything["acme-observer"] == [
        ("query", "default", "SELECT 1"),
        ("request", "GET", "/work/{n}", "200"),
        ("run", "acme.ship"),
        ("query", "default", "SELECT 2"),
        ("job-done", "acme.ship"),
        ("fire", "Report"),
        ("query", "default", "SELECT 40 + 2"),
    ]
    metrics = "\n".join(everything["metrics"])
    assert 'mega_http_requests_total{method="GET",route="/work/{n}",status="2xx"} 1' in metrics
    assert 'mega_jobs_done_total{subject="acme.ship"} 1' in metrics
    assert 'mega_schedule_fired_total{schedule="Report"} 1' in metrics
    assert 'mega_schedule_done_total{schedule="Report"} 1' in metrics
    assert everything["tracing"] == sorted(
        ["GET /work/{n}", "SELECT default", "acme.ship process", "SELECT default",
         "schedule Report", "SELECT default"]
    )  # fmt: skip

    # remove any one of the three: the other two report exactly the same
    for removed in OBSERVERS:
        rest = tuple(o for o in OBSERVERS if o != removed)
        for stale in ("app.db", "jobs.db"):
            (project / stale).unlink(missing_ok=True)
        without = await run_scenario(project, rest)
        assert without == {k: v for k, v in everything.items() if k != removed}, removed
