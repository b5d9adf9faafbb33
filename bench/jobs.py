"""Job queue throughput against raw nats-py, FastStream and a bare ProcessPoolExecutor.

Same NATS server (127.0.0.1:4222), same payloads ({"i": n}, JSON), interleaved rounds (each pair
in one order on even rounds, the other on odd ones), medians of per-round ratios.

(a) enqueue: awaited ``js.publish`` (raw, JSON-encoding the payload) vs mega ``enqueue``.
    Target >= 0.9x. A figure compares mega with raw publishes carrying a ``Nats-Msg-Id``
    header as mega's do (what makes its retries safe; the server deduplicates each).
(b) bulk: ``js.publish_async`` + gather (raw) vs mega ``enqueue_many``. Target >= 0.8x.
(c) worker, no-op jobs, stream pre-filled with N messages: raw = one pull loop fetching as many
    as it has free slots (concurrency c), a task per message, ``msg.ack()`` without waiting;
    mega = ``Consumption`` (what ``mega worker`` runs) with the job's concurrency c. Timed from
    the consumer's start to the N-th message handled. Targets: >= 0.85x raw at c=1, >= 0.9x raw
    at c=32, and client CPU per job at c=32 <= raw's + 4 us.
(d) peer: FastStream's NATS JetStream pull subscriber (batch 32), same pre-filled stream.
    Target: mega c=32 >= 2x FastStream.
(e) the local (SQLite) driver: enqueue, enqueue_many and worker c=1/c=32 jobs/s (figures).
(f) ctx.workers.run of a trivial task on a 2-process pool vs a bare ProcessPoolExecutor(2)
    with loop.run_in_executor, 8 callers in flight: tasks/s. Target >= 0.9, isolation kept.
(g) the outbox (bench/_bench_outbox.py): one row inserted and one job enqueued inside a
    transaction (published after the commit) vs the row inserted in a transaction and the job
    enqueued after it (a direct publish), on PostgreSQL + NATS. Target >= 0.8x; SQLite + the
    local bus as a figure.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# bench/ holds http.py, which would shadow the standard library's http for FastStream: keep the
# folder importable (for _bench_workers, also in spawned processes) but after the stdlib
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

NATS_URL = "nats://127.0.0.1:4222"

from _bench_outbox import bench_outbox  # noqa: E402  (after the sys.path fix above)

PREFIX = f"BENCH{uuid.uuid4().hex[:6].upper()}"


def counting_job(base, subject: str, concurrency: int, counter: dict):
    async def run(self, payload, ctx):
        counter["n"] += 1
        if counter["n"] >= counter["target"]:
            counter["event"].set()

    return type("Noop", (base,), {"subject": subject, "concurrency": concurrency, "run": run})


# -- raw nats-py --------------------------------------------------------------------------


async def raw_enqueue(js, subject: str, n: int, msg_ids: bool = False) -> float:
    """Awaited publishes; ``msg_ids``: each with a ``Nats-Msg-Id`` header, as mega sends (its
    retries after a lost reply are deduplicated by the server: a cost on the server's side)."""
    prefix = uuid.uuid4().hex
    started = time.perf_counter()
    for i in range(n):
        data = json.dumps({"i": i}).encode()
        if msg_ids:
            await js.publish(subject, data, headers={"Nats-Msg-Id": f"{prefix}-{i}"})
        else:
            await js.publish(subject, data)
    return n / (time.perf_counter() - started)


async def raw_bulk(js, subject: str, n: int) -> float:
    started = time.perf_counter()
    futures = [await js.publish_async(subject, json.dumps({"i": i}).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    return n / (time.perf_counter() - started)


async def prefill(js, subject: str, n: int) -> None:
    futures = [await js.publish_async(subject, json.dumps({"i": i}).encode()) for i in range(n)]
    await asyncio.gather(*futures)


async def raw_worker(js, api, stream: str, subject: str, n: int, c: int) -> tuple[float, float]:
    durable = f"{stream}_RAW"
    done = asyncio.Event()
    count = {"n": 0}
    in_flight: set[asyncio.Task] = set()

    async def handle(msg) -> None:
        json.loads(msg.data)
        count["n"] += 1
        await msg.ack()
        if count["n"] >= n:
            done.set()

    cpu, started = time.process_time(), time.perf_counter()
    await js.add_consumer(
        stream,
        api.ConsumerConfig(
            durable_name=durable,
            filter_subject=subject,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=30,
            max_deliver=5,
            max_ack_pending=c,
        ),
    )
    sub = await js.pull_subscribe_bind(durable, stream=stream)
    while not done.is_set():
        free = c - len(in_flight)
        if free <= 0:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            continue
        try:
            msgs = await sub.fetch(free, timeout=1)
        except TimeoutError:
            continue
        for msg in msgs:
            task = asyncio.create_task(handle(msg))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await asyncio.gather(*in_flight)
    await sub.unsubscribe()
    await js.delete_consumer(stream, durable)
    return n / elapsed, cpu / n * 1e6


# -- mega -----------------------------------------------------------------------------------


async def mega_enqueue(queue, job, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        await queue.enqueue(job, {"i": i})
    return n / (time.perf_counter() - started)


async def mega_bulk(queue, job, n: int) -> float:
    started = time.perf_counter()
    await queue.enqueue_many(job, [{"i": i} for i in range(n)])
    return n / (time.perf_counter() - started)


async def mega_worker(queue, base, subject: str, n: int, c: int) -> tuple[float, float]:
    from mega.plugins.jobs import Consumption

    counter = {"n": 0, "target": n, "event": asyncio.Event()}
    job = counting_job(base, subject, c, counter)
    cpu, started = time.process_time(), time.perf_counter()
    consumption = await Consumption.start(queue, job, lambda delivery: None)
    await counter["event"].wait()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await consumption.stop(deadline_s=5)
    return n / elapsed, cpu / n * 1e6


# -- FastStream -----------------------------------------------------------------------------


async def faststream_worker(stream: str, subject: str, n: int, batch: int) -> float:
    from faststream.nats import JStream, NatsBroker, PullSub

    broker = NatsBroker(NATS_URL, logger=None)
    done = asyncio.Event()
    count = {"n": 0}

    @broker.subscriber(
        subject,
        stream=JStream(name=stream, declare=False),
        durable=f"{stream}_FS",
        pull_sub=PullSub(batch_size=batch, timeout=1.0),
    )
    async def handle(body: dict) -> None:
        count["n"] += 1
        if count["n"] >= n:
            done.set()

    started = time.perf_counter()
    await broker.start()
    await done.wait()
    elapsed = time.perf_counter() - started
    await broker.stop()
    return n / elapsed


# -- CPU worker pools -----------------------------------------------------------------------


def trivial(x: int) -> int:
    return x + 1


async def pool_rate(call, n: int, callers: int = 8) -> float:
    gate = asyncio.Semaphore(callers)

    async def one(i: int) -> None:
        async with gate:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - started)


async def bench_pools(rounds: int, n: int) -> dict[str, list[float]]:
    from _bench_workers import Trivial

    from mega.plugins.jobs import WorkerPools

    loop = asyncio.get_running_loop()
    bare = ProcessPoolExecutor(2)
    pools = WorkerPools([Trivial])
    await pools.run(Trivial, 1)
    await loop.run_in_executor(bare, trivial, 1)
    out: dict[str, list[float]] = {"bare": [], "mega": []}
    for _ in range(rounds):
        out["bare"].append(await pool_rate(lambda i: loop.run_in_executor(bare, trivial, i), n))
        out["mega"].append(await pool_rate(lambda i: pools.run(Trivial, i), n))
    bare.shutdown()
    await pools.close()
    return out


# -- the run --------------------------------------------------------------------------------


async def bench_nats(rounds: int, n: int) -> dict[str, list[float]]:
    import nats
    import nats.js.api as api

    from mega.plugins.jobs import Job, JobQueue, NatsBus, NatsOptions

    bus = NatsBus(alias="bench", options=NatsOptions(servers=[NATS_URL], stream_prefix=PREFIX))
    await bus.connect()
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    queue = JobQueue(bus)
    raw_subject, mega_subject = f"{PREFIX.lower()}.raw", f"{PREFIX.lower()}.mega"
    raw_stream = f"{PREFIX}_RAWSTREAM"
    await js.add_stream(
        api.StreamConfig(
            name=raw_stream, subjects=[raw_subject], retention=api.RetentionPolicy.WORK_QUEUE
        )
    )
    job = type("Noop", (Job,), {"subject": mega_subject})
    await queue.ensure(mega_subject)
    mega_stream = bus.stream_name(mega_subject)
    r: dict[str, list[float]] = {
        k: []
        for k in (
            "raw_enqueue", "raw_id_enqueue", "mega_enqueue", "raw_bulk", "mega_bulk",
            "raw_c1", "mega_c1", "raw_c32", "mega_c32", "raw_cpu32", "mega_cpu32", "faststream",
        )
    }  # fmt: skip

    async def consume(side: str, c: int, small: int) -> None:
        if side == "raw":
            await prefill(js, raw_subject, small)
            rate, cpu = await raw_worker(js, api, raw_stream, raw_subject, small, c)
        else:
            await prefill(js, mega_subject, small)
            rate, cpu = await mega_worker(queue, Job, mega_subject, small, c)
        r[f"{side}_c{c}"].append(rate)
        if c == 32:
            r[f"{side}_cpu32"].append(cpu)

    try:
        for round_ in range(rounds):
            # each pair runs in one order on even rounds and the other on odd ones: whichever
            # goes second meets a server still busy with the first's work (stream cleanup)
            sides = ("raw", "mega") if round_ % 2 == 0 else ("mega", "raw")
            three = ("raw", "raw_id", "mega")  # enqueue: a third side, rotated
            for side in three[round_ % 3 :] + three[: round_ % 3]:
                if side == "mega":
                    r["mega_enqueue"].append(await mega_enqueue(queue, job, n // 4))
                else:
                    r[f"{side}_enqueue"].append(
                        await raw_enqueue(js, raw_subject, n // 4, msg_ids=side == "raw_id")
                    )
            await js.purge_stream(raw_stream)
            await js.purge_stream(mega_stream)
            for side in sides:
                if side == "raw":
                    r["raw_bulk"].append(await raw_bulk(js, raw_subject, n))
                else:
                    r["mega_bulk"].append(await mega_bulk(queue, job, n))
            await js.purge_stream(raw_stream)
            await js.purge_stream(mega_stream)
            for c, small in ((1, n // 4), (32, n)):
                for side in sides:
                    await consume(side, c, small)
            await prefill(js, raw_subject, n)
            r["faststream"].append(await faststream_worker(raw_stream, raw_subject, n, 32))
            await js.delete_consumer(raw_stream, f"{raw_stream}_FS")  # one per WorkQueue filter
            await js.purge_stream(raw_stream)
    finally:
        await js.delete_stream(raw_stream)
        await bus.delete_streams(mega_subject)
        await nc.close()
        await bus.close()
    return r


async def bench_local(n: int) -> dict[str, float]:
    from mega.plugins.jobs import Job, JobQueue, LocalBus, LocalBusOptions

    with tempfile.TemporaryDirectory() as tmp:
        bus = LocalBus(alias="bench", options=LocalBusOptions(path=f"{tmp}/jobs.sqlite3"))
        await bus.connect()
        queue = JobQueue(bus)
        job = type("Noop", (Job,), {"subject": "bench.local"})
        await queue.ensure(job.subject)
        out = {"local_enqueue": await mega_enqueue(queue, job, n // 4)}
        await bus.purge_dead_letters(job.subject)
        out["local_c1"], _ = await mega_worker(queue, Job, job.subject, n // 4, 1)
        out["local_bulk"] = await mega_bulk(queue, job, n)
        out["local_c32"], _ = await mega_worker(queue, Job, job.subject, n, 32)
        await bus.close()
    return out


def med(values: list[float]) -> float:
    return statistics.median(values)


def ratio(a: list[float], b: list[float]) -> float:
    """Median of the per-round ratios (rounds are interleaved pairs)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs and rounds (< 60 s)")
    args = parser.parse_args()
    rounds, n = (4, 4_000) if args.quick else (8, 20_000)
    r = asyncio.run(bench_nats(rounds, n))
    local = asyncio.run(bench_local(n))
    pools = asyncio.run(bench_pools(rounds, 1_000 if args.quick else 5_000))
    outbox_n = 500 if args.quick else 2_000
    outbox_pg = asyncio.run(bench_outbox("pg", rounds, outbox_n, NATS_URL))
    outbox_sqlite = asyncio.run(bench_outbox("sqlite", rounds, outbox_n, NATS_URL))

    ratios = {
        "enqueue_vs_raw": ratio(r["mega_enqueue"], r["raw_enqueue"]),
        "enqueue_many_vs_publish_async": ratio(r["mega_bulk"], r["raw_bulk"]),
        "worker_c1_vs_raw": ratio(r["mega_c1"], r["raw_c1"]),
        "worker_c32_vs_raw": ratio(r["mega_c32"], r["raw_c32"]),
        "worker_c32_cpu_overhead_us": med(r["mega_cpu32"]) - med(r["raw_cpu32"]),
        "worker_c32_vs_faststream": ratio(r["mega_c32"], r["faststream"]),
        "enqueue_in_tx_vs_insert_then_publish": ratio(outbox_pg["outbox"], outbox_pg["plain"]),
        "pool_vs_bare_executor": ratio(pools["mega"], pools["bare"]),
    }
    targets = {
        "enqueue_vs_raw": ">=0.9",
        "enqueue_many_vs_publish_async": ">=0.8",
        "worker_c1_vs_raw": ">=0.85",
        "worker_c32_vs_raw": ">=0.9",
        "worker_c32_cpu_overhead_us": "<=4",
        "worker_c32_vs_faststream": ">=2",
        "enqueue_in_tx_vs_insert_then_publish": ">=0.8",
        # ctx.workers.run keeps per-task crash and timeout isolation at the executor's pace
        "pool_vs_bare_executor": ">=0.9",
    }
    figures = {f"{k}_per_s" if "cpu" not in k else f"{k}_us_per_job": round(med(v), 1)
               for k, v in r.items()}  # fmt: skip
    figures.update({f"{k}_per_s": round(v, 1) for k, v in local.items()})
    for label, result in (("pg_nats", outbox_pg), ("sqlite_local", outbox_sqlite)):
        figures[f"outbox_{label}_in_tx_per_s"] = round(med(result["outbox"]), 1)
        figures[f"outbox_{label}_then_publish_per_s"] = round(med(result["plain"]), 1)
    figures["outbox_sqlite_local_vs_then_publish"] = round(
        ratio(outbox_sqlite["outbox"], outbox_sqlite["plain"]), 3
    )
    # how much of enqueue's gap is the server deduplicating by msg id (the same header on raw)
    figures["enqueue_vs_raw_with_msg_id"] = round(ratio(r["mega_enqueue"], r["raw_id_enqueue"]), 3)
    figures["pool_bare_tasks_per_s"] = round(med(pools["bare"]), 1)
    figures["pool_mega_tasks_per_s"] = round(med(pools["mega"]), 1)
    figures["pool_overhead_us_per_task"] = round(
        (1 / med(pools["mega"]) - 1 / med(pools["bare"])) * 1e6, 1
    )

    def met(name: str) -> bool:
        target = targets[name]
        op, bound = target[:2], float(target[2:])
        return ratios[name] >= bound if op == ">=" else ratios[name] <= bound

    for name, value in ratios.items():
        print(f"{name:34s} {value:8.3f}  (target {targets[name]})  {'ok' if met(name) else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:34s} {value}")
    print(
        json.dumps(
            {
                "bench": "jobs",
                "ratios": {k: round(v, 3) for k, v in ratios.items()},
                "targets": targets,
                "figures": figures,
                "pass": all(met(k) for k in ratios),
            }
        )
    )


if __name__ == "__main__":
    main()
