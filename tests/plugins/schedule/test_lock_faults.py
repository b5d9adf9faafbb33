"""Lock backend faults: down at fire time, down mid-run, a holder killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap

from mega.plugins.redis import RedisLock, RedisLockOptions
from mega.plugins.schedule import Schedule
from mega.plugins.schedule.scheduler import utcnow


def redis_lock(own_redis):
    return {"driver": "redis", "urls": [own_redis.url], "op_timeout_ms": 200}


class Quick(Schedule):
    cron = "0 * * * *"
    lock = {"lock": "default", "ttl_ms": 600}

    async def run(self, ctx):
        return ctx.lock_token


async def test_backend_down_at_fire_time_skips_and_the_scheduler_recovers(scheduler_app, own_redis):
    async with scheduler_app(Quick, lock=redis_lock(own_redis)) as (app, scheduler, _events):
        done = await scheduler.fire_now("Quick")
        assert (done.name, done.lock_lost) == ("done", False)
        # "try once": retries off and short socket timeouts (bench/locks.py measures how fast
        # the skip comes with the server down)
        [client] = app.ctx().lock()._clients
        connection = client.connection_pool.connection_kwargs
        assert client.get_retry()._retries == 0
        assert connection["socket_timeout"] == connection["socket_connect_timeout"] == 0.2
        own_redis.stop()
        skipped = await scheduler._fire(Quick, utcnow().replace(microsecond=0))
        assert (skipped.name, skipped.reason) == ("skip", "backend-error")
        assert skipped.error.code == "lock.backend_error"
        own_redis.start()
        await asyncio.sleep(1.05)  # the next fire time
        recovered = await scheduler.fire_now("Quick")
        assert recovered.name == "done"


async def test_a_release_failure_emits_fail_release_and_keeps_the_run_result(
    scheduler_app, own_redis
):
    class Quitter(Schedule):
        cron = "0 * * * *"
        lock = {"lock": "default", "ttl_ms": 3_000}  # the first extension is 1 s away

        async def run(self, ctx):
            own_redis.stop()  # the backend goes away right before the release
            return "report written"

    async with scheduler_app(Quitter, lock=redis_lock(own_redis)) as (_, scheduler, events):
        outcome = await scheduler.fire_now("Quitter")
        assert (outcome.name, outcome.result) == ("done", "report written")
        [release] = [e for e in events if e.name == "fail"]
        assert release.phase == "release" and release.error.code == "lock.backend_error"
        own_redis.start()


async def test_backend_stopping_mid_run_sets_abort_and_emits_fail_lock_extend(
    scheduler_app, own_redis
):
    seen = {}

    class Long(Schedule):
        cron = "0 * * * *"
        lock = {"lock": "default", "ttl_ms": 600}

        async def run(self, ctx):
            own_redis.stop()  # the backend goes away while we hold its lock
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.abort.wait(), timeout=3)
            seen["aborted"] = ctx.abort.is_set()

    async with scheduler_app(Long, lock=redis_lock(own_redis)) as (_, scheduler, events):
        outcome = await scheduler.fire_now("Long")
        assert seen["aborted"] is True
        failures = [(e.name, e.phase) for e in events if e.name == "fail"]
        assert ("fail", "lock-extend") in failures
        assert outcome.name == "done"  # the run itself finished; its release could not
        assert outcome.lock_lost is True  # ...without its lock: it may have run elsewhere too
        assert ("fail", "release") not in failures  # a lost lock is not released again
        own_redis.start()


HOLDER = """
import asyncio, sys, time
from mega.plugins.redis import RedisLock, RedisLockOptions

async def main():
    lock = RedisLock(alias="x", options=RedisLockOptions(urls=[sys.argv[1]]))
    await lock.connect()
    held = await lock.try_acquire("victim", ttl_ms=1500)
    print("held", held.token, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_holder_killed_with_sigkill_loses_the_lock_after_its_ttl(own_redis):
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", textwrap.dedent(HOLDER), own_redis.url, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = (await asyncio.wait_for(holder.stdout.readline(), timeout=30)).decode()
        assert line.startswith("held")
        first_token = int(line.split()[1])
        holder.kill()  # SIGKILL: no release, no more extensions
        await holder.wait()
        lock = RedisLock(alias="t", options=RedisLockOptions(urls=[own_redis.url]))
        await lock.connect()
        try:
            assert await lock.try_acquire("victim", ttl_ms=1500) is None  # still within its ttl
            await asyncio.sleep(1.7)
            taken = await lock.try_acquire("victim", ttl_ms=1500)
            assert taken is not None and taken.token > first_token
            await taken.release()
        finally:
            await lock.close()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
