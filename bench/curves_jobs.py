"""Jobs throughput as a curve of the worker processes: 1 vs 4, local bus, same run.

A stream in the local bus's SQLite file is filled with M messages; then 1 or 4 worker
processes (each what ``mega worker`` runs for one job class: a ``Consumption`` on the shared
file) start consuming at one signal, and the stream is timed until empty. Three jobs, rounds
interleaving the process counts:

- ``noop``: returns at once, concurrency 64 — the bus is the work (each claim and each ack
  batch is one ``BEGIN IMMEDIATE`` transaction on the one file);
- ``cpu``: ~2 ms of pure-Python work a job, concurrency 4 (one in flight per process when
  four share it) — the interpreter is the work;
- ``cpu_c64``: the same job with concurrency 64 (``Job.concurrency`` is the whole group's
  limit, and each process may fetch up to it).

What the curve should look like: ``cpu`` and ``cpu_c64`` scale with processes up to the cores
free to run them (this machine has 2, shared: at most ~2x); ``noop`` is bounded by the file's
single writer, so more processes add lock waits, not throughput — flat at best, and it must
not collapse. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http (starlette imports it): the script's
# own folder goes after the standard library
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

CPU_BODY = "sum(i * i for i in range(25_000))"
#: kind -> (what a job does, the job's concurrency: its max in flight for the whole group)
KINDS = {"noop": ("return None", 64), "cpu": (CPU_BODY, 4), "cpu_c64": (CPU_BODY, 64)}
PROCESSES = (1, 4)

WORKER = """
import asyncio, sys
from mega.plugins.jobs import Consumption, Job, JobQueue, LocalBus, LocalBusOptions


RAN = [0]


class Work(Job):
    subject = {subject!r}
    concurrency = {concurrency}

    async def run(self, payload, ctx):
        RAN[0] += 1
        {body}


async def main():
    bus = LocalBus(alias="curve", options=LocalBusOptions(path={path!r}))
    await bus.connect()
    queue = JobQueue(bus)
    await queue.ensure(Work.subject)
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    consumption = await Consumption.start(queue, Work, lambda delivery: None)
    await loop.run_in_executor(None, sys.stdin.readline)  # stop
    await consumption.stop(deadline_s=5)
    await bus.close()
    print(RAN[0], flush=True)


asyncio.run(main())
"""


async def drained(bus: Any, subject: str) -> None:
    """Until the stream holds no message (every job acked), polling the store every 10 ms."""
    while True:
        stats = await bus.stats(subject)
        if not stats.depth:
            return
        await asyncio.sleep(0.01)


async def run_once(path: str, kind: str, processes: int, messages: int) -> tuple[float, float]:
    """Jobs per second, ``messages`` pre-filled jobs consumed by ``processes`` workers, and
    the share of them the busiest worker ran."""
    from mega.plugins.jobs import Job, JobQueue, LocalBus, LocalBusOptions

    body, concurrency = KINDS[kind]
    subject = f"curve.{kind}"
    job: Any = type("Work", (Job,), {"subject": subject, "concurrency": concurrency})
    bus = LocalBus(alias="fill", options=LocalBusOptions(path=path))
    await bus.connect()
    queue = JobQueue(bus)
    await queue.ensure(job.subject)
    await queue.enqueue_many(job, [{"i": i} for i in range(messages)])
    code = WORKER.format(subject=subject, concurrency=concurrency, body=body, path=path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA")}
    pipe = asyncio.subprocess.PIPE
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdin=pipe, stdout=pipe, env=env
        )
        for _ in range(processes)
    ]
    try:
        for proc in workers:
            assert proc.stdout is not None and (await proc.stdout.readline()).strip() == b"ready"
        started = time.perf_counter()
        for proc in workers:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        await drained(bus, job.subject)
        elapsed = time.perf_counter() - started
    finally:
        for proc in workers:
            if proc.stdin is not None:
                proc.stdin.write(b"stop\n")
                proc.stdin.close()
        ran = []
        for proc in workers:
            assert proc.stdout is not None
            ran.append(int(await asyncio.wait_for(proc.stdout.readline(), 30) or 0))
            await asyncio.wait_for(proc.wait(), 30)
        await bus.close()
    return messages / elapsed, max(ran) / sum(ran)


def measure(
    rounds: int, messages: dict[str, int]
) -> tuple[dict[str, dict[int, list[float]]], dict[str, list[float]]]:
    rates: dict[str, dict[int, list[float]]] = {k: {p: [] for p in PROCESSES} for k in KINDS}
    busiest: dict[str, list[float]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/jobs.sqlite3"
        asyncio.run(run_once(path, "noop", 1, 100))  # warm up: the file, the imports
        for r in range(rounds):
            for kind in KINDS:
                for p in PROCESSES if r % 2 else PROCESSES[::-1]:
                    rate, share = asyncio.run(run_once(path, kind, p, messages[kind]))
                    rates[kind][p].append(rate)
                    if p > 1:
                        busiest[kind].append(share)
    return rates, busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds, messages = (
        (3, {"noop": 6_000, "cpu": 200, "cpu_c64": 200})
        if args.quick
        else (7, {"noop": 20_000, "cpu": 600, "cpu_c64": 600})
    )
    rates, busiest = measure(rounds, messages)
    med = statistics.median
    one, many = PROCESSES
    ratios = {
        f"{kind}_{many}_vs_{one}_processes": round(
            med(b / a for a, b in zip(by_p[one], by_p[many], strict=True)), 3
        )
        for kind, by_p in rates.items()
    }
    targets = {
        f"noop_{many}_vs_{one}_processes": ">=0.8",
        f"cpu_{many}_vs_{one}_processes": ">=1.4",
        f"cpu_c64_{many}_vs_{one}_processes": ">=1.4",
    }
    met = {k: ratios[k] >= float(targets[k][2:]) for k in ratios}
    figures: dict[str, object] = {
        f"{kind}_jobs_per_s": {p: round(med(v), 1) for p, v in by_p.items()}
        for kind, by_p in rates.items()
    }
    figures |= {
        f"{kind}_busiest_of_{many}_share": round(med(shares), 2) for kind, shares in busiest.items()
    }
    figures |= {"messages": messages, "rounds": rounds, "cpus": os.cpu_count()}
    for name, ratio in ratios.items():
        print(f"{name:26s} {ratio:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, figure in figures.items():
        print(f"{name:26s} {figure}")
    result = {"bench": "curves_jobs", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": all(met.values())}))


if __name__ == "__main__":
    main()
