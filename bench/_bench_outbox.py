"""bench/jobs.py's outbox figure: what a job enqueued inside a transaction costs.

Both contenders write one business row in a transaction and get one job onto the bus:

- baseline: insert in a transaction, then a direct ``enqueue`` after the commit (the pattern the
  outbox replaces: a crash between the two loses the job);
- outbox: insert and ``enqueue`` in the same transaction (an outbox row, published after the
  commit, deleted in the background).

PostgreSQL + NATS (the distributed profile; target >= 0.8x) and SQLite + the local bus (figure).
Interleaved rounds, medians of per-round ratios.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _config(profile: str, tmp: str, names: dict[str, str]) -> dict[str, Any]:
    if profile == "pg":
        db = {"driver": "postgres", "dsn": PG_DSN, "schema_name": names["schema"]}
        bus = {"driver": "nats", "servers": [names["nats"]], "stream_prefix": names["prefix"]}
        plugins = ["db", "postgres", "jobs"]
    else:
        db = {"driver": "sqlite", "path": f"{tmp}/app.sqlite3"}
        bus = {"driver": "local", "path": f"{tmp}/jobs.sqlite3"}
        plugins = ["db", "sqlite", "jobs"]
    return {
        "app": {"plugins": plugins, "name": "bench_outbox", "log_level": "warning"},
        "adapters": {"db": {"default": db}, "bus": {"default": bus}},
    }


async def bench_outbox(profile: str, rounds: int, n: int, nats_url: str) -> dict[str, list[float]]:
    import tempfile

    from mega.plugins.db import CreateTable, Model, String
    from mega.plugins.jobs import Job, JobOutbox
    from mega.testing import boot_app
    from mega.testing.services import delete_streams

    class Order(Model):
        __table__ = "bench_orders"
        ref = String(64)

    job = type("Placed", (Job,), {"subject": "bench.order_placed"})
    names = {"schema": f"bench_ob_{uuid.uuid4().hex[:8]}", "prefix": f"BOB{uuid.uuid4().hex[:6]}",
             "nats": nats_url}  # fmt: skip
    out: dict[str, list[float]] = {"plain": [], "outbox": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with boot_app(_config(profile, tmp, names), environ={}) as app:
            db = app.ctx().db()
            jobs = app.ctx().jobs
            jobs.add(job)
            try:
                await db.apply([CreateTable(Order.table_def()), CreateTable(JobOutbox.table_def())])
                await jobs.enqueue(job, {"warm": True})  # streams made, connections warm

                async def plain(count: int) -> float:
                    started = time.perf_counter()
                    for i in range(count):
                        async with db.transaction():
                            await db.insert(Order, {"ref": f"p{i}"})
                        await jobs.enqueue(job, {"order": i})
                    return count / (time.perf_counter() - started)

                async def outboxed(count: int) -> float:
                    started = time.perf_counter()
                    for i in range(count):
                        async with db.transaction():
                            await db.insert(Order, {"ref": f"o{i}"})
                            await jobs.enqueue(job, {"order": i})
                    return count / (time.perf_counter() - started)

                await plain(n // 10)
                await outboxed(n // 10)
                for index in range(rounds):
                    pair = (("plain", plain), ("outbox", outboxed))
                    for name, run in pair if index % 2 == 0 else reversed(pair):
                        out[name].append(await run(n))
            finally:
                if profile == "pg":
                    await db.execute(f'DROP SCHEMA "{names["schema"]}" CASCADE')
        if profile == "pg":
            await delete_streams(names["prefix"], server=nats_url)
    return out
