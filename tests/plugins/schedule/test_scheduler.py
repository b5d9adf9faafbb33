"""The scheduler in-process: locked fires, events, overlap, misfires, extension, drain."""

from __future__ import annotations

import asyncio
import time

import pytest

from mega import MegaConfigError, MegaNotFoundError
from mega.plugins.schedule import Schedule
from mega.testing import boot_app, fire_schedule

LOCK = {"lock": "default", "ttl_ms": 600}


def kinds(events, *names):
    return [
        (e.name, e.data.get("reason") or e.data.get("phase")) for e in events if e.name in names
    ]


class Report(Schedule):
    cron = "0 * * * *"
    lock = LOCK

    async def run(self, ctx):
        return {"token": ctx.lock_token, "fire": ctx.fire_time.isoformat()}


class Broken(Schedule):
    cron = "0 * * * *"

    async def run(self, ctx):
        raise RuntimeError("boom")


async def test_a_locked_fire_runs_with_a_fencing_token_and_emits_fire_then_done(scheduler_app):
    async with scheduler_app(Report) as (app, _, events):
        done = await fire_schedule(app, Report)
        assert done.name == "done"
        assert done.token == done.result["token"] > 0
        assert kinds(events, "fire", "done") == [("fire", None), ("done", None)]
        same_second = await fire_schedule(app, "Report")  # same fire time: same per-fire key
        if same_second.fire_time == done.fire_time:
            assert (same_second.name, same_second.reason) == ("skip", "locked")
        await asyncio.sleep(1.05)
        again = await fire_schedule(app, "Report")
        assert again.name == "done" and again.token > done.token


async def test_a_fire_whose_lock_is_held_elsewhere_is_skipped_as_locked(scheduler_app):
    async with scheduler_app(Report) as (app, scheduler, events):
        from mega.plugins.schedule.scheduler import fire_key, utcnow

        now = utcnow().replace(microsecond=0)
        held = await app.ctx().lock().try_acquire(fire_key(Report._lock.key, now), ttl_ms=5000)
        skipped = await scheduler._fire(Report, now)
        assert (skipped.name, skipped.reason) == ("skip", "locked")
        assert kinds(events, "done") == []
        await held.release()


async def test_a_failing_run_emits_fail_run_and_a_raising_listener_changes_nothing(scheduler_app):
    async with scheduler_app(Broken) as (app, scheduler, _events):
        scheduler.events.on("fail", lambda e: 1 / 0)
        failed = await fire_schedule(app, Broken)
        assert (failed.name, failed.phase) == ("fail", "run")
        assert str(failed.error) == "boom"


async def test_subscribing_to_an_unknown_event_is_an_error(scheduler_app):
    async with scheduler_app() as (_, scheduler, _events):
        with pytest.raises(MegaConfigError) as err:
            scheduler.events.on("finish", print)
        assert err.value.code == "events.unknown"
        assert "done, fail, fire, skip" in err.value.message


async def test_firing_an_unknown_schedule_names_the_known_ones(scheduler_app):
    async with scheduler_app(Report) as (app, _, _events):
        with pytest.raises(MegaNotFoundError) as err:
            await fire_schedule(app, "Reprot")
        assert err.value.details["known"] == ["Report"]


async def test_a_run_longer_than_its_ttl_is_not_run_twice(scheduler_app, wait_for):
    runs = []

    class Slow(Schedule):
        cron = "0 * * * *"
        lock = LOCK

        async def run(self, ctx):
            runs.append(ctx.lock_token)
            await asyncio.sleep(1.8)  # 3x the ttl: only automatic extension keeps the lock
            assert not ctx.abort.is_set()

    async with scheduler_app(Slow) as (_, one, _), scheduler_app(Slow) as (_, two, _):
        from mega.plugins.schedule.scheduler import utcnow

        fire = utcnow().replace(microsecond=0)
        first = asyncio.create_task(one._fire(Slow, fire))
        await wait_for(lambda: runs)
        late = []
        for _ in range(4):  # the second instance keeps trying the same fire during the run
            await asyncio.sleep(0.45)
            late.append((await two._fire(Slow, fire)).reason)
        assert (await first).name == "done"
    assert late == ["locked"] * 4
    assert len(runs) == 1


async def test_overlap_skip_skips_a_fire_while_the_previous_run_is_going(scheduler_app, wait_for):
    release = asyncio.Event()

    class Long(Schedule):
        cron = "* * * * * *"

        async def run(self, ctx):
            await release.wait()

    async with scheduler_app(Long, start=True) as (_, _scheduler, events):
        await wait_for(lambda: ("skip", "overlap") in kinds(events, "skip"), within=5)
        release.set()
        await wait_for(lambda: kinds(events, "done"))
    assert kinds(events, "fire").count(("fire", None)) >= 1


async def test_overlap_queue_runs_one_queued_fire_after_the_current_run(scheduler_app, wait_for):
    steps = []

    class Queued(Schedule):
        cron = "* * * * * *"
        overlap = "queue"

        async def run(self, ctx):
            steps.append(("start", ctx.fire_time))
            await asyncio.sleep(2.5)  # spans two more fires: one is queued, one skipped
            steps.append(("end", ctx.fire_time))

    async with scheduler_app(Queued, start=True) as (_, _scheduler, events):
        await wait_for(lambda: len(steps) >= 3, within=8)
    first, queued = steps[0][1], steps[2][1]
    assert steps[:3] == [("start", first), ("end", first), ("start", queued)]
    assert queued > first
    assert ("skip", "overlap") in kinds(events, "skip")


async def test_a_stalled_loop_skips_missed_fires_and_never_bursts(scheduler_app, wait_for):
    ran = []

    class EverySecond(Schedule):
        cron = "* * * * * *"
        misfire_grace_ms = 500

        async def run(self, ctx):
            ran.append(ctx.fire_time)

    async with scheduler_app(EverySecond, start=True) as (_, _scheduler, events):
        await wait_for(lambda: ran)
        before = len(ran)
        time.sleep(3.2)  # noqa: ASYNC251 - a stalled loop is the point: three fires come due
        await asyncio.sleep(0.3)
        after_stall = len(ran) - before
    assert after_stall <= 1  # at most the one fire within the grace, never a burst of three
    assert ("skip", "misfire") in kinds(events, "skip")


async def test_shutdown_waits_for_a_running_fire_and_releases_its_lock(lock_file, wait_for):
    finished = []

    class Finisher(Schedule):
        cron = "* * * * * *"
        lock = LOCK

        async def run(self, ctx):
            await asyncio.sleep(0.5)
            finished.append(ctx.fire_time)

    config = {
        "app": {"plugins": ["schedule", "sqlite"]},
        "plugins": {"schedule": {"keep_lock_ms": 0}},
        "adapters": {"lock": {"default": {"driver": "sqlite", "path": lock_file}}},
    }
    async with boot_app(config, environ={}) as app:
        app.extensions["schedule"].add(Finisher)
        app.extensions["schedule"].start()
        await wait_for(lambda: app.extensions["schedule"]._fires, within=3)
    assert finished  # shutdown waited for the run in flight


async def test_a_schedule_naming_an_unconfigured_lock_fails_at_boot(tmp_path, monkeypatch):
    app_dir = tmp_path / "apps" / "sched_boot_check" / "schedules"
    app_dir.mkdir(parents=True)
    (tmp_path / "apps" / "sched_boot_check" / "__init__.py").write_text("")
    (app_dir / "nightly.py").write_text(
        "from mega.plugins.schedule import Schedule\n"
        "class Nightly(Schedule):\n"
        "    cron = '0 3 * * *'\n"
        "    lock = {'lock': 'main', 'ttl_ms': 5000}\n"
        "    async def run(self, ctx):\n"
        "        pass\n"
    )
    (tmp_path / "apps" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "apps", raising=False)
    with pytest.raises(MegaConfigError) as err:
        async with boot_app({"app": {"plugins": ["schedule"]}}, root=tmp_path, environ={}):
            pass
    assert err.value.code == "schedule.unknown_lock"
    assert "schedule 'Nightly' locks with [adapters.lock.main]" in err.value.message


async def test_a_finished_fire_keeps_its_lock_and_a_cancelled_one_releases_it(
    scheduler_app, wait_for
):
    from mega.plugins.schedule.scheduler import fire_key

    release = asyncio.Event()

    class Holding(Schedule):
        cron = "0 * * * *"
        lock = LOCK

        async def run(self, ctx):
            await release.wait()

    async with scheduler_app(Holding, Report) as (app, scheduler, events):
        done = await fire_schedule(app, Report)
        lock = app.ctx().lock()
        kept = await lock.try_acquire(fire_key(Report._lock.key, done.fire_time), ttl_ms=600)
        assert kept is None  # kept after the run: a lagging instance finds the fire taken
        task = asyncio.create_task(scheduler.fire_now("Holding"))
        await wait_for(lambda: len(kinds(events, "fire")) == 2)
        fired = [e for e in events if e.name == "fire"][-1]
        await asyncio.sleep(0.05)  # the run is waiting inside its lock
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        freed = await lock.try_acquire(fire_key(Holding._lock.key, fired.fire_time), ttl_ms=600)
        assert freed is not None  # the cancelled fire did not finish: its lock is free again
        await freed.release()
        assert ("fail", "cancelled") in kinds(events, "fail")


async def test_a_fire_missed_within_the_grace_runs_once_at_start(scheduler_app, wait_for):
    from datetime import timedelta

    from mega.plugins.schedule.scheduler import utcnow

    class EveryFive(Schedule):
        cron = "*/5 * * * * *"
        misfire_grace_ms = 4_000

        async def run(self, ctx):
            return ctx.fire_time

    now = utcnow()  # start about a second after a fire time (a multiple of 5 s) passed
    wait = (1 - now.second) % 5 - now.microsecond / 1e6
    await asyncio.sleep(wait if wait > 0 else wait + 5)
    started = utcnow()
    async with scheduler_app(EveryFive, start=True) as (_, _scheduler, events):
        await wait_for(lambda: kinds(events, "done"))
    first = next(e for e in events if e.name == "done")
    assert first.fire_time < started  # the fire that came due before the scheduler started
    assert started - first.fire_time <= timedelta(milliseconds=EveryFive.misfire_grace_ms)


async def test_jitter_delays_the_run_but_keeps_the_nominal_fire_time(scheduler_app, wait_for):
    class Jittery(Schedule):
        cron = "* * * * * *"
        jitter_ms = 300

        async def run(self, ctx):
            return ctx.fire_time

    async with scheduler_app(Jittery, start=True) as (_, _scheduler, events):
        await wait_for(lambda: kinds(events, "done"))
    done = next(e for e in events if e.name == "done")
    assert done.result == done.fire_time and done.fire_time.microsecond == 0
