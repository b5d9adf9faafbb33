"""Overlap exclusion across instances: a schedule-wide running lease, and ``allow_overlap``."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
import uuid

import pytest

from mega.plugins.schedule import Schedule
from mega.plugins.schedule.scheduler import fire_key, running_key, utcnow

from .conftest import cleanup, project_env, schedule_project, stop_all

SLOW = """
import asyncio, os, sqlite3, time
from mega.plugins.schedule import Schedule

class Slow(Schedule):
    cron = "* * * * * *"
    lock = {"lock": "default", "ttl_ms": 1000}
    misfire_grace_ms = 500
    allow_overlap = ALLOW

    async def run(self, ctx):
        started = time.time()
        await asyncio.sleep(1.6)  # outlasts the 1 s period, and the lease's 1 s TTL
        db = sqlite3.connect(os.environ["RESULTS_DB"], timeout=10)
        with db:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                       (ctx.fire_time.isoformat(), os.getpid(), started, time.time()))
        db.close()
"""


def overlapping(runs):
    """Pairs of runs (fire_time, pid, start, end) whose time spans intersect."""
    ordered = sorted(runs, key=lambda r: r[2])
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[2] < a[3]]


def skip_reasons(stderr_texts):
    reasons = []
    for text in stderr_texts:
        for line in text.splitlines():
            if '"schedule.skipped"' in line:
                reasons.append(json.loads(line)["reason"])
    return reasons


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("driver", "allow"),
    [("sqlite", False), ("redis", False), ("postgres", False), ("sqlite", True)],
    ids=["sqlite", "redis", "postgres", "sqlite-allow-overlap"],
)
def test_three_processes_never_overlap_a_run_that_outlasts_its_period(
    driver, allow, tmp_path, start_mega_run
):
    unique = uuid.uuid4().hex[:10]
    source = SLOW.replace("ALLOW", str(allow))
    project = schedule_project(tmp_path, driver, unique, {"slow": source})
    results = tmp_path / "results.sqlite3"
    with sqlite3.connect(results) as db:
        db.execute("CREATE TABLE runs (fire_time TEXT, pid INTEGER, start REAL, end REAL)")
    procs = []
    stderr = []
    try:
        procs = [start_mega_run(project, project_env(RESULTS_DB=str(results))) for _ in range(3)]
        time.sleep(6)
    finally:
        stderr = stop_all(procs)
        cleanup(driver, unique)
    assert all(p.returncode == 0 for p in procs), stderr
    with sqlite3.connect(results) as db:
        runs = db.execute("SELECT fire_time, pid, start, end FROM runs").fetchall()
    fire_times = [r[0] for r in runs]
    assert len(fire_times) == len(set(fire_times))  # per-fire keys: each fire runs once at most
    reasons = skip_reasons(stderr)
    if allow:
        assert overlapping(runs)  # opted out: a fire runs while the previous one still does
        assert "overlap" not in reasons
    else:
        assert overlapping(runs) == []
        assert len(runs) >= 3  # ~one run per 1.6 s over ~6 s: exclusion did not stall the cluster
        assert "overlap" in reasons
        assert len({pid for _, pid, _, _ in runs}) >= 1


class Long(Schedule):
    cron = "0 * * * *"
    lock = {"lock": "default", "ttl_ms": 600}

    async def run(self, ctx):
        await asyncio.sleep(1.0)  # longer than the lease's TTL: only its extension keeps it
        return ctx.fire_time


class LongOverlapping(Long):
    allow_overlap = True
    # a wide TTL: what this class tests is overlap and the kept fire key, not extension — at
    # 600 ms, one extension late on a loaded machine lost the fire's key (reported as
    # fail(phase="lock-extend")), after which the same fire could rightly run again
    lock = {"lock": "default", "ttl_ms": 5000}


async def test_a_fire_while_a_run_goes_on_another_instance_is_skipped_as_overlap(
    scheduler_app, wait_for
):
    async with scheduler_app(Long) as (_, one, _), scheduler_app(Long) as (_, two, events):
        first_fire = utcnow().replace(microsecond=0)
        first = asyncio.create_task(one._fire(Long, first_fire))
        await asyncio.sleep(0.8)  # past the lease's TTL: it was extended
        skipped = await two._fire(Long, first_fire.replace(year=first_fire.year + 1))
        assert (skipped.name, skipped.reason) == ("skip", "overlap")
        assert (await first).name == "done"
        after = await two._fire(Long, first_fire.replace(year=first_fire.year + 2))
        assert after.name == "done"  # the lease went with the run
    assert [e.name for e in events if e.name in ("skip", "done")] == ["skip", "done"]


async def test_allow_overlap_runs_fires_concurrently_across_instances(scheduler_app):
    async with (
        scheduler_app(LongOverlapping) as (_, one, _),
        scheduler_app(LongOverlapping) as (_, two, _),
    ):
        fire = utcnow().replace(microsecond=0)
        first = asyncio.create_task(one._fire(LongOverlapping, fire))
        await asyncio.sleep(0.2)
        second = await two._fire(LongOverlapping, fire.replace(year=fire.year + 1))
        assert second.name == "done"
        assert (await first).name == "done"
        # the per-fire key still holds: the same fire does not run twice
        again = await two._fire(LongOverlapping, fire)
        assert (again.name, again.reason) == ("skip", "locked")


async def test_a_crashed_holders_lease_expires_after_its_ttl(scheduler_app):
    async with scheduler_app(Long) as (app, scheduler, _):
        lock = app.ctx().lock()
        key = running_key(Long._lock.key)
        # a holder that died: it took the lease and will never extend or release it
        assert await lock._acquire(key, 600, key, "dead-owner") is not None
        fire = utcnow().replace(microsecond=0)
        skipped = await scheduler._fire(Long, fire)
        assert (skipped.name, skipped.reason) == ("skip", "overlap")
        await asyncio.sleep(0.7)
        ran = await scheduler._fire(Long, fire.replace(year=fire.year + 1))
        assert ran.name == "done"


async def test_an_overlap_skip_keeps_the_fire_decided(scheduler_app):
    async with scheduler_app(Long) as (app, scheduler, _):
        lock = app.ctx().lock()
        lease = await lock.try_acquire(running_key(Long._lock.key), ttl_ms=5000)
        fire = utcnow().replace(microsecond=0)
        assert (await scheduler._fire(Long, fire)).reason == "overlap"
        await lease.release()
        # a lagging instance arriving at the same fire after the run ended finds it taken
        assert (await scheduler._fire(Long, fire)).reason == "locked"
        assert await lock.try_acquire(fire_key(Long._lock.key, fire), ttl_ms=600) is None


async def test_allow_overlap_runs_fires_concurrently_in_process(scheduler_app, wait_for):
    spans = []

    class Overlapping(Schedule):
        cron = "* * * * * *"
        allow_overlap = True

        async def run(self, ctx):
            spans.append(("start", ctx.fire_time))
            await asyncio.sleep(1.5)
            spans.append(("end", ctx.fire_time))

    async with scheduler_app(Overlapping, start=True) as (_, _scheduler, events):
        await wait_for(lambda: [s for s, _ in spans].count("start") >= 2, within=5)
    assert spans[:2] == [
        ("start", spans[0][1]),
        ("start", spans[1][1]),
    ]  # the 2nd before the 1st ends
    assert not [e for e in events if e.name == "skip"]


async def test_fire_now_while_a_run_is_going_in_process_is_skipped_as_overlap(
    scheduler_app, wait_for
):
    release = asyncio.Event()

    class Busy(Schedule):
        cron = "0 * * * *"

        async def run(self, ctx):
            await release.wait()

    async with scheduler_app(Busy) as (_, scheduler, events):
        scheduler._dispatch(Busy, utcnow().replace(microsecond=0))
        await wait_for(lambda: [e for e in events if e.name == "fire"])
        skipped = await scheduler.fire_now("Busy")
        assert (skipped.name, skipped.reason) == ("skip", "overlap")
        release.set()
        await wait_for(lambda: [e for e in events if e.name == "done"])
