"""Run timeouts share one loop timer per 50 ms step: a run that ends leaves its step at once,
and one that overruns is timed out when its step comes."""

from __future__ import annotations

import asyncio

from mega.plugins.jobs.queue import DEADLINE_STEP_S, _Deadlines, _Run


async def test_ended_runs_leave_nothing_behind_and_overruns_fire_once():
    deadlines = _Deadlines()
    fired: list[int] = []
    runs = [_Run() for _ in range(1_000)]
    for i, run in enumerate(runs):
        deadlines.add(run, 0.05, lambda i=i: fired.append(i))
    for run in runs[:-1]:  # all but the last end in time
        deadlines.end(run)
    assert sum(len(due) for due in deadlines._steps.values()) == 1  # nothing else is held
    await asyncio.sleep(0.05 + 2 * DEADLINE_STEP_S)
    assert fired == [999]
    assert deadlines._steps == {}
    deadlines.end(runs[-1])  # ending a run that already timed out is harmless
