"""``mega jobs dlq replay --all`` over many dead letters: a bar on a TTY, a line each tenth of
the way elsewhere; every letter back on the work stream."""

from __future__ import annotations

import json
import sys

import pytest

JOB = """
from mega.plugins.jobs import Job


class Doomed(Job):
    subject = "main.doomed"
    retries = 0

    async def run(self, payload, ctx):
        raise RuntimeError(f"doomed {payload['n']}")
"""

COUNT = 40
#: enqueue COUNT jobs, consume them (each fails at once: the DLQ), wait until all are there
FILL = f"""
await ctx.jobs.enqueue_many(Doomed, [{{"n": n}} for n in range({COUNT})])
await ctx.jobs.start(["Doomed"])
bus = ctx.jobs.queue(Doomed.bus).bus
deadline = asyncio.get_running_loop().time() + 60
while (await bus.stats(Doomed.subject)).dlq_depth < {COUNT}:
    assert asyncio.get_running_loop().time() < deadline, "the DLQ did not fill"
    await asyncio.sleep(0.05)
(await bus.stats(Doomed.subject)).dlq_depth
"""


@pytest.fixture
def full_dlq(mega, project, enable):
    enable("jobs", extra='\n[adapters.bus.default]\ndriver = "local"\n')
    (project / "apps" / "main" / "jobs" / "doomed.py").write_text(JOB)
    assert mega("console", "-c", FILL, cwd=project).stdout.strip() == str(COUNT)
    return project


def depths(mega, project) -> tuple[int, int]:
    [row] = json.loads(mega("jobs", "status", "--json", cwd=project).stdout)
    return row["depth"], row["dlq_depth"]


def test_off_a_tty_a_line_each_tenth(mega, full_dlq):
    result = mega("jobs", "dlq", "replay", "Doomed", "--all", cwd=full_dlq)
    assert result.stdout.strip() == f"replayed {COUNT} dead letter(s) of Doomed"
    lines = result.stderr.splitlines()
    assert lines == [f"replaying Doomed: {n}/{COUNT}" for n in range(4, COUNT + 1, 4)]
    assert depths(mega, full_dlq) == (COUNT, 0)


def test_on_a_tty_a_bar(mega, full_dlq, in_terminal):
    argv = [sys.executable, "-m", "mega", "jobs", "dlq", "replay", "Doomed", "--all"]
    status, out = in_terminal(argv, full_dlq, mega.env() | {"TERM": "xterm"})
    assert status == 0, out
    assert "replaying Doomed" in out and "━" in out and f"{COUNT}/{COUNT}" in out
    assert f"replayed {COUNT} dead letter(s) of Doomed" in out
    assert depths(mega, full_dlq) == (COUNT, 0)
