"""mega's mongo dialect vs raw PyMongo ``AsyncMongoClient`` calls doing the same work.

Same server, same database, interleaved rounds (the order of the two sides alternates):

- insert: one document per call — ``db.insert(Model, row)`` (checked fields, defaults, an
  integer key from the hi/lo counter) vs ``insert_one(doc)`` (keys counted in the client) into a
  collection with the same ``$jsonSchema`` validator;
- get: by primary key — ``db.get`` (a row dict with every field decoded) vs ``find_one``;
- page: a filtered keyset page of 20 — ``db.page(..., after=cursor)`` (the opaque cursor
  encoded and decoded) vs ``find(filter + keyset condition).sort(...).limit(21)``.

Each ratio is the median of per-round throughput ratios, mega / raw (target >= 0.85 each);
the client CPU per call of each side (``time.process_time``) is a figure: it shows what mega
adds whatever the server's speed.
The server is ``--url`` / ``MEGA_TEST_MONGO_URL``, else a mongoeco started from .venv-mongoeco
(``make mongoeco``) on a free port — a MongoDB wire server in Python, slower than mongod, so the
client-side overhead is a smaller share there; ``--motor`` also times motor's
``AsyncIOMotorClient`` on get (when motor is importable; mega does not depend on it).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from mega.plugins.db import CreateTable, Index, Json, Model, String
from mega.plugins.mongo import MongoDatabase, MongoOptions

ROOT = Path(__file__).resolve().parents[1]
SEED = 200  # documents the get/page rounds read (mongoeco slows down past a few thousand)


class Item(Model):
    __table__ = "bench_items"
    __timestamps__ = True
    __indexes__ = [Index("kind", "name")]

    name = String(60)
    kind = String(20)
    tags = Json(default=list)


class Insert(Model):
    __table__ = "bench_inserts"
    name = String(60)
    kind = String(20)


class RawInsert(Model):
    """The raw side's collection: the same validator and indexes as ``Insert``'s."""

    __table__ = "bench_inserts_raw"
    name = String(60)
    kind = String(20)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mongoeco() -> tuple[subprocess.Popen[bytes], str]:
    python = ROOT / ".venv-mongoeco" / "bin" / "python"
    if not python.exists():
        sys.exit("no --url / MEGA_TEST_MONGO_URL, and no mongoeco: run `make mongoeco`")
    port = free_port()
    server = ROOT / "tests" / "plugins" / "mongo" / "mongoeco_server.py"
    proc = subprocess.Popen([str(python), str(server), str(port)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit("mongoeco did not start")
            time.sleep(0.05)
    return proc, f"mongodb://127.0.0.1:{port}/?directConnection=true"


async def timed(call, n: int) -> float:
    """Calls per second of ``n`` sequential calls."""
    started = time.perf_counter()
    for i in range(n):
        await call(i)
    return n / (time.perf_counter() - started)


async def bench(url: str, rounds: int, n: int, motor: bool) -> dict[str, dict[str, list[float]]]:
    from pymongo import AsyncMongoClient

    name = f"mega_bench_{uuid.uuid4().hex[:8]}"
    db = MongoDatabase(alias="bench", options=MongoOptions(url=url, database=name))
    await db.connect()
    raw_client: AsyncMongoClient = AsyncMongoClient(
        url, tz_aware=True, uuidRepresentation="standard"
    )
    raw = raw_client[name]
    results: dict[str, dict[str, list[float]]] = {
        op: {"mega": [], "raw": [], "mega_cpu": [], "raw_cpu": []}
        for op in ("insert", "get", "page")
    }
    try:
        await db.apply([CreateTable(m.table_def()) for m in (Item, Insert, RawInsert)])
        keys = await db.insert_many(
            Item,
            [{"name": f"item {i:04d}", "kind": "ab"[i % 2], "tags": [i]} for i in range(SEED)],
        )
        raw_items, raw_inserts = raw[Item.__table__], raw[RawInsert.__table__]

        async def mega_insert(i: int) -> None:
            await db.insert(Insert, {"name": f"n{i}", "kind": "a"})

        raw_keys = itertools.count(1)

        async def raw_insert(i: int) -> None:
            await raw_inserts.insert_one({"_id": next(raw_keys), "name": f"n{i}", "kind": "a"})

        async def mega_get(i: int) -> None:
            assert await db.get(Item, keys[i % SEED]) is not None

        async def raw_get(i: int) -> None:
            assert await raw_items.find_one({"_id": keys[i % SEED]}) is not None

        pages: dict[str, str | None] = {"mega": None}
        raw_after: list[tuple[str, int] | None] = [None]

        async def mega_page(i: int) -> None:
            page = await db.page(
                Item, Item.kind == "a", order_by="name", limit=20, after=pages["mega"]
            )
            pages["mega"] = page.next
            assert page.items

        async def raw_page(i: int) -> None:
            query: dict = {"kind": {"$eq": "a"}}
            after = raw_after[0]
            if after is not None:
                query = {
                    "$and": [
                        query,
                        {
                            "$or": [
                                {"name": {"$gt": after[0]}},
                                {"name": {"$eq": after[0]}, "_id": {"$gt": after[1]}},
                            ]
                        },
                    ]
                }
            docs = await raw_items.find(query, sort=[("name", 1), ("_id", 1)], limit=21).to_list(
                None
            )
            raw_after[0] = (docs[19]["name"], docs[19]["_id"]) if len(docs) > 20 else None
            assert docs

        sides = {
            "insert": (mega_insert, raw_insert),
            "get": (mega_get, raw_get),
            "page": (mega_page, raw_page),
        }
        for ours, theirs in sides.values():  # warm up both
            await timed(ours, 5)
            await timed(theirs, 5)
        for r in range(rounds):
            for op, (ours, theirs) in sides.items():
                count = n if op != "insert" else max(10, n // 4)
                order = [("mega", ours), ("raw", theirs)]
                for side, call in order if r % 2 == 0 else order[::-1]:
                    cpu = time.process_time()
                    results[op][side].append(await timed(call, count))
                    # client CPU per call: what mega adds, whatever the server's speed
                    results[op][f"{side}_cpu"].append((time.process_time() - cpu) / count * 1e6)
        if motor:
            results["motor_get"] = await bench_motor(url, name, keys, rounds, n, raw_get)
    finally:
        await raw_client.drop_database(name)
        await raw_client.close()
        await db.close()
    return results


async def bench_motor(url, name, keys, rounds, n, raw_get) -> dict[str, list[float]]:
    """Gets per second and client CPU per get (all threads: motor runs PyMongo in a pool):
    motor's ``AsyncIOMotorClient`` vs ``AsyncMongoClient``, interleaved."""
    try:
        from motor.motor_asyncio import AsyncIOMotorClient
    except ImportError:
        return {}
    client = AsyncIOMotorClient(url)
    items = client[name][Item.__table__]

    async def motor_get(i: int) -> None:
        assert await items.find_one({"_id": keys[i % SEED]}) is not None

    out: dict[str, list[float]] = {"motor": [], "raw": [], "motor_cpu": [], "raw_cpu": []}
    for r in range(rounds):
        order = [("motor", motor_get), ("raw", raw_get)]
        for side, call in order if r % 2 == 0 else order[::-1]:
            cpu = time.process_time()
            out[side].append(await timed(call, n))
            out[f"{side}_cpu"].append((time.process_time() - cpu) / n * 1e6)
    client.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    parser.add_argument("--url", default=os.environ.get("MEGA_TEST_MONGO_URL"))
    parser.add_argument("--motor", action="store_true", help="also time motor (if installed)")
    args = parser.parse_args()
    rounds, n = (9, 100) if args.quick else (15, 200)
    proc = None
    url = args.url
    if not url:
        proc, url = start_mongoeco()
    try:
        results = asyncio.run(bench(url, rounds, n, args.motor))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    med = statistics.median
    ratios = {}
    figures: dict[str, float] = {}
    for op in ("insert", "get", "page"):
        sides = results[op]
        ratios[f"{op}_vs_raw"] = round(
            med(m / r for m, r in zip(sides["mega"], sides["raw"], strict=True)), 3
        )
        figures[f"mega_{op}_per_s"] = round(med(sides["mega"]))
        figures[f"raw_{op}_per_s"] = round(med(sides["raw"]))
        figures[f"mega_{op}_client_cpu_us"] = round(med(sides["mega_cpu"]), 1)
        figures[f"raw_{op}_client_cpu_us"] = round(med(sides["raw_cpu"]), 1)
        print(
            f"{op:7} mega {med(sides['mega']):8.0f}/s  raw {med(sides['raw']):8.0f}/s  "
            f"ratio {ratios[f'{op}_vs_raw']:.3f}",
            file=sys.stderr,
        )
    motor = results.get("motor_get") or {}
    if motor:
        figures["motor_get_vs_async_mongo_client"] = round(
            med(m / r for m, r in zip(motor["motor"], motor["raw"], strict=True)), 3
        )
        figures["motor_get_cpu_us"] = round(med(motor["motor_cpu"]), 1)
        figures["async_mongo_client_get_cpu_us"] = round(med(motor["raw_cpu"]), 1)
    figures["server"] = "mongoeco" if proc is not None else "given url"  # type: ignore[assignment]
    targets = {name: ">=0.85" for name in ratios}
    passed = all(value >= 0.85 for value in ratios.values())
    print(
        json.dumps(
            {
                "bench": "mongo",
                "ratios": ratios,
                "targets": targets,
                "figures": figures,
                "pass": passed,
            }
        )
    )


if __name__ == "__main__":
    main()
