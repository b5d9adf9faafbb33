"""`mega worker` as a real process: SIGKILL mid-run, SIGTERM drain, hand-back past the deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mega.plugins.jobs import Job, JobQueue

JOB = '''
import asyncio, os, pathlib
from mega.plugins.jobs import Job

MARKS = pathlib.Path(os.environ["JOB_MARKS"])


class Slow(Job):
    """Sleeps payload["sleep"] seconds on its first delivery, briefly on later ones."""

    subject = "SUBJECT"
    concurrency = 4
    retries = 0

    async def run(self, payload, ctx):
        pid = os.getpid()
        (MARKS / f"start-{ctx.seq}-{ctx.delivery_count}-{pid}").touch()
        await asyncio.sleep(payload["sleep"] if ctx.delivery_count == 1 else 0.1)
        (MARKS / f"done-{ctx.seq}-{pid}").touch()
        return payload
'''


class Slow(Job):
    """The in-test twin of the project's job (same subject), used to enqueue."""

    subject = "abstract.slow"


class Project:
    def __init__(self, root: Path, bus, subject: str, start) -> None:
        self.root = root
        self.bus = bus
        self.job = type("Slow", (Slow,), {"subject": subject})
        self.queue = JobQueue(bus)
        self.marks = root / "marks"
        self.marks.mkdir()
        self._start = start
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
        self.env["JOB_MARKS"] = str(self.marks)

    def configure(self, drain_timeout_ms: int) -> None:
        if hasattr(self.bus, "js"):
            bus = f'driver = "nats"\nstream_prefix = "{self.bus.options.stream_prefix}"'
        else:
            bus = f'driver = "local"\npath = "{self.bus.options.path}"\npoll_ms = 50'
        (self.root / "mega.toml").write_text(
            '[app]\nname = "jobsproc"\nplugins = ["jobs"]\nshutdown_timeout_ms = 20000\n\n'
            f"[plugins.jobs]\nack_wait_ms = 2000\ndrain_timeout_ms = {drain_timeout_ms}\n\n"
            f"[adapters.bus.default]\n{bus}\n"
        )

    def worker(self) -> subprocess.Popen[str]:
        return self._start(self.root, self.env, ("worker",), "worker ready")

    def marked(self, prefix: str) -> list[list[str]]:
        return sorted(
            p.name.split("-")[1:] for p in self.marks.iterdir() if p.name.startswith(prefix)
        )


@pytest.fixture
def project(bus, subject, tmp_path, start_mega_run):
    root = tmp_path / "proj"
    (root / "apps" / "main" / "jobs").mkdir(parents=True)
    (root / "apps" / "__init__.py").write_text("")
    (root / "apps" / "main" / "__init__.py").write_text("")
    name = subject()
    (root / "apps" / "main" / "jobs" / "slow.py").write_text(JOB.replace("SUBJECT", name))
    made = Project(root, bus, name, start_mega_run)
    made.configure(drain_timeout_ms=10_000)
    return made


async def stop(proc: subprocess.Popen[str], within: float = 25.0) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(proc.wait, within)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.timeout(90)
async def test_sigkilled_worker_job_is_redelivered_and_completed(project, until):
    first = project.worker()
    published = await project.queue.enqueue(project.job, {"sleep": 60})
    await until(lambda: project.marked("start-"), within=20)
    assert project.marked("start-") == [[str(published.seq), "1", str(first.pid)]]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    second = project.worker()
    await until(lambda: project.marked("done-"), within=30)
    assert project.marked("done-") == [[str(published.seq), str(second.pid)]]
    assert [m[1] for m in project.marked("start-")] == ["1", "2"]
    assert await stop(second) == 0
    stats = await project.bus.stats(project.job.subject)
    assert (stats.depth, stats.dlq_depth) == (0, 0)


@pytest.mark.timeout(90)
async def test_sigterm_drains_runs_in_flight(project, until):
    worker = project.worker()
    for _ in range(3):
        await project.queue.enqueue(project.job, {"sleep": 1.5})
    await until(lambda: len(project.marked("start-")) == 3, within=20)
    assert await stop(worker) == 0
    assert len(project.marked("done-")) == 3  # finished before the worker exited
    stats = await project.bus.stats(project.job.subject)
    assert (stats.depth, stats.in_flight) == (0, 0)


@pytest.mark.timeout(90)
async def test_runs_past_the_drain_deadline_are_handed_to_another_worker(project, until):
    project.configure(drain_timeout_ms=300)
    worker = project.worker()
    published = await project.queue.enqueue(project.job, {"sleep": 60})
    await until(lambda: project.marked("start-"), within=20)
    assert await stop(worker) == 0
    assert project.marked("done-") == []
    assert (await project.bus.stats(project.job.subject)).depth == 1  # not lost
    other = project.worker()
    await until(lambda: project.marked("done-"), within=20)
    assert project.marked("done-") == [[str(published.seq), str(other.pid)]]
    assert await stop(other) == 0
