"""Lock and cron costs, against baselines measured in the same run.

(a) Redis, same server: raw redis-py asyncio ``SET NX PX`` + Lua compare-and-delete (the
    minimal correct lock: two round trips) vs mega's redis lock ``try_acquire`` + ``release``
    (fencing token, auto-extension task, two round trips). Target: >= 0.85x raw throughput.
(b) mega's sqlite and postgres lock drivers: acquire+release per second, as figures.
(c) backend down: with a private redis-server (free port, 127.0.0.1) stopped, how long a
    try-once acquisition takes to fail with ``lock.backend_error`` (a schedule's
    ``skip(reason="backend-error")``). Target: <= 1000 ms.
(d) next fire time: ``Cron.next_after`` (cronsim, DST-correct) vs croniter's
    ``croniter(expr, t).get_next()`` for the same fresh ``t``. Target: <= 1.0x croniter's time.

Rounds interleave mega and baseline in short back-to-back pairs; the ratio is the median of the
per-pair ratios, figures are medians. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

RAW_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def raw_cycles(client, release, n: int, prefix: str) -> float:
    started = time.perf_counter()
    for i in range(n):
        key, owner = f"{prefix}raw:{i % 64}", uuid.uuid4().hex
        assert await client.set(key, owner, nx=True, px=10_000)
        await release(keys=[key], args=[owner])
    return n / (time.perf_counter() - started)


async def mega_cycles(lock, n: int, prefix: str) -> float:
    started = time.perf_counter()
    for i in range(n):
        held = await lock.try_acquire(f"{prefix}mega:{i % 64}", ttl_ms=10_000)
        assert held is not None
        await held.release()
    return n / (time.perf_counter() - started)


async def bench_locks(rounds: int, n: int) -> dict[str, list[float]]:
    import redis.asyncio as aioredis

    from mega.plugins.postgres import PostgresLock, PostgresLockOptions
    from mega.plugins.redis import RedisLock, RedisLockOptions
    from mega.plugins.sqlite import SqliteLock, SqliteLockOptions

    prefix = f"mega-bench:{uuid.uuid4().hex[:8]}:"
    client = aioredis.Redis()
    release = client.register_script(RAW_RELEASE)
    redis_lock = RedisLock(alias="b", options=RedisLockOptions(key_prefix=prefix))
    table = f"mega_bench_locks_{uuid.uuid4().hex[:8]}"
    pg_lock = PostgresLock(alias="b", options=PostgresLockOptions(table=table))
    tmp = tempfile.TemporaryDirectory()
    sqlite_lock = SqliteLock(alias="b", options=SqliteLockOptions(path=f"{tmp.name}/l.db"))
    for lock in (redis_lock, pg_lock, sqlite_lock):
        await lock.connect()
    out: dict[str, list[float]] = {"raw": [], "mega": [], "postgres": [], "sqlite": []}
    try:
        await raw_cycles(client, release, 200, prefix)  # warm up connections and scripts
        await mega_cycles(redis_lock, 200, prefix)
        # many short interleaved batches: this machine's noise moves in bursts of seconds
        for i in range(rounds):
            if i % 2:
                out["mega"].append(await mega_cycles(redis_lock, n, prefix))
                out["raw"].append(await raw_cycles(client, release, n, prefix))
            else:
                out["raw"].append(await raw_cycles(client, release, n, prefix))
                out["mega"].append(await mega_cycles(redis_lock, n, prefix))
        for _ in range(3):
            out["postgres"].append(await mega_cycles(pg_lock, n, prefix))
            out["sqlite"].append(await mega_cycles(sqlite_lock, n, prefix))
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        async with pg_lock._pool.acquire() as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {table}, {table}_fences")
        for lock in (redis_lock, pg_lock, sqlite_lock):
            await lock.close()
        tmp.cleanup()
    return out


async def bench_backend_down(samples: int) -> list[float]:
    from mega import LockBackendError
    from mega.plugins.redis import RedisLock, RedisLockOptions

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        stdout=asyncio.subprocess.DEVNULL,
    )
    lock = RedisLock(alias="b", options=RedisLockOptions(urls=[f"redis://127.0.0.1:{port}"]))
    try:
        for _ in range(100):
            try:
                await lock.connect()
                break
            except Exception:
                await lock.close()
                await asyncio.sleep(0.05)
    finally:
        server.terminate()  # the backend goes away (only the server this bench started)
        await server.wait()
    timings = []
    for i in range(samples):
        started = time.perf_counter()
        try:
            await lock.try_acquire(f"down:{i}", ttl_ms=1_000)
        except LockBackendError:
            timings.append((time.perf_counter() - started) * 1000)
    await lock.close()
    return timings


def bench_cron(rounds: int, n: int) -> tuple[list[float], list[float]]:
    from croniter import croniter

    from mega.plugins.schedule.cron import Cron

    tz = ZoneInfo("Europe/Berlin")
    expr = "*/5 9-17 * * 1-5"
    cron = Cron(expr, tz)
    starts = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * i) for i in range(n)]
    ours, theirs = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for start in starts:
            croniter(expr, start.astimezone(tz)).get_next(datetime)
        t1 = time.perf_counter()
        for start in starts:
            cron.next_after(start)
        t2 = time.perf_counter()
        theirs.append((t1 - t0) / n * 1e6)
        ours.append((t2 - t1) / n * 1e6)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds, n = (21, 300) if args.quick else (61, 400)
    locks = asyncio.run(bench_locks(rounds, n))
    down_ms = asyncio.run(bench_backend_down(5))
    ours_us, croniter_us = bench_cron(5 if args.quick else 9, 2000)
    med = statistics.median
    # median of per-pair ratios: each pair ran back to back, so slow drifts cancel out
    lock_ratio = med(m / r for m, r in zip(locks["mega"], locks["raw"], strict=True))
    cron_ratio = med(ours_us) / med(croniter_us)
    worst_down_ms = max(down_ms) if len(down_ms) == 5 else float("inf")
    ratios = {
        "redis_lock_vs_raw": round(lock_ratio, 3),
        "next_fire_vs_croniter": round(cron_ratio, 3),
        "backend_down_error_ms": round(worst_down_ms, 1),
    }
    targets = {
        "redis_lock_vs_raw": ">=0.85",
        "next_fire_vs_croniter": "<=1.0",
        "backend_down_error_ms": "<=1000",
    }
    figures = {
        "raw_redis_cycles_per_s": round(med(locks["raw"])),
        "mega_redis_cycles_per_s": round(med(locks["mega"])),
        "mega_postgres_cycles_per_s": round(med(locks["postgres"])),
        "mega_sqlite_cycles_per_s": round(med(locks["sqlite"])),
        "next_fire_us": round(med(ours_us), 2),
        "croniter_next_us": round(med(croniter_us), 2),
        "rounds": rounds,
    }
    passed = lock_ratio >= 0.85 and cron_ratio <= 1.0 and worst_down_ms <= 1000
    print(
        json.dumps(
            {
                "bench": "locks",
                "ratios": ratios,
                "targets": targets,
                "figures": figures,
                "pass": passed,
            }
        )
    )


if __name__ == "__main__":
    main()
