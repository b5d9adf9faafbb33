"""A job that kills its worker on every delivery ends in the DLQ, not in the work stream forever.

Real `mega worker` processes, SIGKILLed by the job itself (as the OOM killer would), on both
drivers. Without the last-delivery rule the last delivery ran, killed its worker too, and the
message stayed in the work stream: JetStream neither redelivers past max_deliver nor removes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mega.plugins.jobs import Consumption, Job, JobQueue

MAX_DELIVER = 3

JOB = '''
import os, pathlib, signal
from mega.plugins.jobs import Job

MARKS = pathlib.Path(os.environ["JOB_MARKS"])


class Crash(Job):
    """Kills its own worker process on every delivery."""

    subject = "SUBJECT"
    concurrency = 1
    retries = 0

    async def run(self, payload, ctx):
        (MARKS / f"start-{ctx.seq}-{ctx.delivery_count}-{os.getpid()}").touch()
        os.kill(os.getpid(), signal.SIGKILL)
'''


class Crash(Job):
    """The in-test twin of the project's job (same subject), used to enqueue."""

    subject = "abstract.crash"

    async def run(self, payload, ctx):
        raise AssertionError("the last delivery must not run the job")


class Project:
    def __init__(self, root: Path, bus, subject: str, start) -> None:
        self.root = root
        self.bus = bus
        self.job = type("Crash", (Crash,), {"subject": subject})
        self.marks = root / "marks"
        self.marks.mkdir()
        self._start = start
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
        self.env["JOB_MARKS"] = str(self.marks)
        if hasattr(bus, "js"):
            table = f'driver = "nats"\nstream_prefix = "{bus.options.stream_prefix}"'
        else:
            table = f'driver = "local"\npath = "{bus.options.path}"\npoll_ms = 50'
        # ack wait 2 s: a dead worker's message comes back quickly, and its last pull request
        # (1 s) has expired by then (see docs/plugins/jobs.md on nats-server < 2.10.14)
        (root / "mega.toml").write_text(
            '[app]\nname = "crashproc"\nplugins = ["jobs"]\n\n'
            f"[plugins.jobs]\nack_wait_ms = 2000\nmax_deliver = {MAX_DELIVER}\n\n"
            f"[adapters.bus.default]\n{table}\n"
        )

    def worker(self) -> subprocess.Popen[str]:
        return self._start(self.root, self.env, ("worker",), "worker ready")

    def starts(self) -> list[int]:
        """The delivery count of each run of the job, in order."""
        names = [p.name.split("-") for p in self.marks.iterdir() if p.name.startswith("start-")]
        return sorted(int(parts[2]) for parts in names)


@pytest.fixture
def project(bus, subject, tmp_path, start_mega_run):
    root = tmp_path / "proj"
    (root / "apps" / "main" / "jobs").mkdir(parents=True)
    (root / "apps" / "__init__.py").write_text("")
    (root / "apps" / "main" / "__init__.py").write_text("")
    name = subject()
    (root / "apps" / "main" / "jobs" / "crash.py").write_text(JOB.replace("SUBJECT", name))
    return Project(root, bus, name, start_mega_run)


async def crash_workers(project: Project, runs: int) -> None:
    """Start a worker per delivery; each one dies running the job (SIGKILL)."""
    for n in range(1, runs + 1):
        worker = project.worker()
        returncode = await asyncio.to_thread(worker.wait, 20)
        assert returncode == -signal.SIGKILL
        assert project.starts() == list(range(1, n + 1))


async def sigterm(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _out, err = await asyncio.to_thread(proc.communicate, None, 25)
    return proc.returncode, err


@pytest.mark.timeout(120)
async def test_a_job_killing_its_worker_every_time_goes_to_the_dlq(project, until):
    queue = JobQueue(project.bus)
    published = await queue.enqueue(project.job, {"order": 7})
    await crash_workers(project, MAX_DELIVER - 1)
    last = project.worker()  # takes the last delivery: routes it, does not run it
    letters: list = []

    async def dead_lettered() -> bool:
        letters[:] = await project.bus.dead_letters(project.job.subject)
        return bool(letters)

    deadline = asyncio.get_running_loop().time() + 30
    while not await dead_lettered():
        assert asyncio.get_running_loop().time() < deadline, "no dead letter within 30 s"
        await asyncio.sleep(0.1)
    [letter] = letters
    assert letter.envelope["delivery_count"] == MAX_DELIVER
    assert letter.envelope["payload"] == {"order": 7}
    assert letter.envelope["error"]["name"] == "JobDeliveriesExhaustedError"
    assert (
        f"message {published.seq} on {project.job.subject!r}"
        in (letter.envelope["error"]["message"])
    )
    assert project.starts() == list(range(1, MAX_DELIVER))  # never run on the last delivery
    stats = await project.bus.stats(project.job.subject)
    assert (stats.depth, stats.in_flight, stats.dlq_depth) == (0, 0, 1)
    returncode, stderr = await sigterm(last)
    assert returncode == 0  # alive until told to stop
    fails = [
        line
        for line in map(_json_or_none, stderr.splitlines())
        if line is not None and line.get("event") == "job.fail"
    ]
    assert [(f["phase"], f["seq"]) for f in fails] == [("max-deliver", published.seq)]
    assert "JobDeliveriesExhaustedError" in fails[0]["error"]


@pytest.mark.timeout(120)
async def test_the_last_delivery_emits_fail_max_deliver_then_dlq(project, harness, until):
    # the crashed deliveries by real workers, the last one by a queue whose events we record
    h = harness(ack_wait_ms=2000, max_deliver=MAX_DELIVER)
    published = await h.queue.enqueue(project.job, {"order": 8})
    await crash_workers(project, MAX_DELIVER - 1)
    consumption: Consumption = await h.consume(project.job)
    await until(lambda: h.named("dlq"), within=30)
    assert [e.name for e in h.events if e.name != "dispatch"] == ["fail", "dlq"]
    fail, dlq = h.named("fail")[0], h.named("dlq")[0]
    assert (fail.phase, fail.seq, fail.subject) == (
        "max-deliver",
        published.seq,
        project.job.subject,
    )
    assert fail.error.code == "job.deliveries_exhausted"
    assert fail.error.details["delivery_count"] == MAX_DELIVER
    assert (dlq.seq, dlq.dlq_subject) == (published.seq, f"{project.job.subject}.dlq")
    assert dlq.error is fail.error
    assert consumption.in_flight == 0
    stats = await h.bus.stats(project.job.subject)
    assert (stats.depth, stats.dlq_depth) == (0, 1)


def _json_or_none(line: str) -> dict | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
