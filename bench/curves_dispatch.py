"""HTTP dispatch cost as a curve of the route count: 10 vs 1 000 routes, same run.

Two apps booted in this process, each with the http plugin and one third-party plugin serving
its routes (``mega_http_routes``): half static (``/r{i}``), half with a validated path parameter
(``/r{i}/items/{item_id}``). Requests are ASGI calls in-process (no server): the first route
declared, the last static one and the last parameterised one. CPU per request is timed in
rounds that interleave the two apps; each curve point is the median over rounds of the ratio
1 000 routes / 10 routes for the same request.

What the curve should look like: flat. A request does the same work whatever else is declared;
only finding its route may depend on the route count, and a lookup need not. The last route's
ratio shows what routing adds when it tries routes in order.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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

SMALL, LARGE = 10, 1000

PLUGIN = """
from mega import PluginSpec, hookimpl
from mega.plugins.http import get

plugin = PluginSpec(name="bench-routes-{n}", requires=("http",))


async def hello(ctx):
    return {{"hello": "world"}}


async def item(ctx, item_id: int):
    return {{"id": item_id}}


@hookimpl
def mega_http_routes(app):
    half = {n} // 2
    return [get(f"/r{{i}}", hello, name=f"r{{i}}") for i in range(half)] + [
        get(f"/r{{i}}/items/{{{{item_id}}}}", item, name=f"item{{i}}") for i in range(half)
    ]
"""


def make_site(root: Path) -> None:
    """One plugin distribution per route count, found through the ``mega.plugins`` group."""
    for n in (SMALL, LARGE):
        module = f"bench_routes_{n}"
        info = root / f"{module}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[mega.plugins]\nbench-routes-{n} = {module}\n")
        (root / f"{module}.py").write_text(PLUGIN.format(n=n))


def scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def requests(n: int) -> dict[str, str]:
    half = n // 2
    return {"first": "/r0", "last_static": f"/r{half - 1}", "last_param": f"/r{half - 1}/items/7"}


async def measure(rounds: int, calls: int) -> dict[str, dict[int, list[float]]]:
    from mega.testing import boot_app

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    cpu: dict[str, dict[int, list[float]]] = {k: {SMALL: [], LARGE: []} for k in requests(SMALL)}
    with tempfile.TemporaryDirectory() as tmp:
        make_site(Path(tmp))
        sys.path.insert(0, tmp)
        async with contextlib.AsyncExitStack() as stack:
            apps = {}
            for n in (SMALL, LARGE):
                config = {"app": {"name": "curve", "plugins": ["http", f"bench-routes-{n}"]}}
                app = await stack.enter_async_context(boot_app(config, environ={}))
                apps[n] = app.extensions["http"].asgi
            for n, asgi in apps.items():  # warm up, and every request must answer 200
                for path in requests(n).values():
                    for _ in range(calls // 10):
                        await asgi(scope(path), receive, send)
            assert set(statuses) == {200}, set(statuses)
            for r in range(rounds):
                order = [SMALL, LARGE] if r % 2 else [LARGE, SMALL]
                for kind in cpu:
                    for n in order:
                        asgi, request = apps[n], scope(requests(n)[kind])
                        started = time.process_time()
                        for _ in range(calls):
                            await asgi(dict(request), receive, send)
                        cpu[kind][n].append((time.process_time() - started) / calls * 1e6)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds, calls = (7, 1_000) if args.quick else (21, 5_000)
    cpu = asyncio.run(measure(rounds, calls))
    med = statistics.median
    ratios = {
        f"{kind}_{LARGE}_vs_{SMALL}": round(
            med(b / a for a, b in zip(by_n[SMALL], by_n[LARGE], strict=True)), 3
        )
        for kind, by_n in cpu.items()
    }
    targets = {name: "<=1.2" for name in ratios}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures: dict[str, Any] = {
        f"{kind}_us_per_request": {n: round(med(v), 2) for n, v in by_n.items()}
        for kind, by_n in cpu.items()
    }
    figures["rounds"] = rounds
    figures["calls_per_round"] = calls
    for name, ratio in ratios.items():
        print(f"{name:28s} {ratio:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, figure in figures.items():
        print(f"{name:28s} {figure}")
    result = {"bench": "curves_dispatch", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": all(met.values())}))


if __name__ == "__main__":
    main()
