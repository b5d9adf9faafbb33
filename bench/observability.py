"""Metrics and tracing costs against baselines measured in the same run.

(a) Request overhead: a JSON hello route through mega's whole HTTP pipeline (middleware,
    routing, envelope), called as ASGI in-process, in an app with and without the metrics and
    tracing plugins (RED observer: a counter and a histogram per route template, method and
    status class; tracing sampled off, as the issue asks). CPU per request from
    ``time.process_time``; interleaved rounds. Without uvicorn's HTTP parsing the bare request
    is cheaper than on the wire, so the share is conservative.
    Targets: overhead <= 2.5 us and <= 8 % of the bare request.
(b) Scrape: rendering 2 000 histogram series (13 buckets) as Prometheus text: mega's
    exposition vs prometheus_client's ``generate_latest`` of the same series. Target <= 0.5x.

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
from pathlib import Path

# bench/http.py would shadow the standard library's http (starlette imports it): the script's
# own folder goes after the standard library
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

from mega.plugins.metrics import MetricsRegistry, render, snapshot  # noqa: E402
from mega.plugins.metrics.registry import DEFAULT_BUCKETS  # noqa: E402

ROUTE = """
from mega.plugins.http import get


async def hello(ctx):
    return {"hello": "world"}


routes = [get("/hello", hello)]
"""


async def _drain(message) -> None:
    return None


async def request_cpu(rounds: int, n: int) -> tuple[list[float], list[float]]:
    """CPU per request through mega's whole HTTP pipeline (middleware, routing, envelope),
    called as ASGI in-process — without uvicorn's HTTP parsing, so the share is conservative."""
    from mega.testing import boot_app

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/hello", "raw_path": b"/hello", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "apps" / "main" / "routes").mkdir(parents=True)
        (root / "apps" / "__init__.py").write_text("")
        (root / "apps" / "main" / "__init__.py").write_text("")
        (root / "apps" / "main" / "routes" / "hello.py").write_text(ROUTE)
        sys.path.insert(0, str(root))
        plain_cfg = {"app": {"name": "obs", "plugins": ["http"]}}
        metered_cfg = {
            "app": {"name": "obs", "plugins": ["http", "metrics", "tracing"]},
            "plugins": {"tracing": {"sample_ratio": 0.0, "exporter": "none"}},
        }
        async with (
            boot_app(plain_cfg, root=root, environ={}) as plain,
            boot_app(metered_cfg, root=root, environ={}) as metered,
        ):
            apps = [plain.extensions["http"].asgi, metered.extensions["http"].asgi]
            bare, watched = [], []
            for _ in range(rounds):
                for asgi, out in ((apps[0], bare), (apps[1], watched)):
                    started = time.process_time()
                    for _ in range(n):
                        await asgi(dict(scope), receive, _drain)
                    out.append((time.process_time() - started) / n * 1e6)
    return bare, watched


def scrape_ms(rounds: int) -> tuple[list[float], list[float]]:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client import Histogram as ClientHistogram

    ours = MetricsRegistry(max_series=5_000).histogram(
        "req_seconds", "Requests.", ["route", "method"]
    )
    registry = CollectorRegistry()
    theirs = ClientHistogram(
        "req_seconds", "Requests.", ["route", "method"], registry=registry, buckets=DEFAULT_BUCKETS
    )
    for i in range(2_000):
        value = 0.003 * (i % 11)
        ours.labels(f"/r/{i}", "GET").observe(value)
        theirs.labels(f"/r/{i}", "GET").observe(value)
    mega_ms, client_ms = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        render(snapshot([ours]))
        mega_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        generate_latest(registry)
        client_ms.append((time.perf_counter() - started) * 1000)
    return mega_ms, client_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds, n = (5, 10_000) if args.quick else (9, 40_000)
    bare, metered = asyncio.run(request_cpu(rounds, n))
    mega_ms, client_ms = scrape_ms(rounds)
    overhead = statistics.median(m - b for m, b in zip(metered, bare, strict=True))
    ratios = {
        "request_overhead_us": round(overhead, 3),
        "request_overhead_share": round(overhead / statistics.median(bare), 3),
        "scrape_vs_prometheus_client": round(
            statistics.median(m / c for m, c in zip(mega_ms, client_ms, strict=True)), 3
        ),
    }
    targets = {
        "request_overhead_us": "<=2.5",
        "request_overhead_share": "<=0.08",
        "scrape_vs_prometheus_client": "<=0.5",
    }
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures = {
        "bare_request_cpu_us": round(statistics.median(bare), 3),
        "metered_request_cpu_us": round(statistics.median(metered), 3),
        "scrape_2000_series_ms": round(statistics.median(mega_ms), 1),
        "prometheus_client_2000_series_ms": round(statistics.median(client_ms), 1),
    }
    for name, value in ratios.items():
        print(f"{name:30s} {value:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:30s} {value}")
    print(
        json.dumps(
            {
                "bench": "observability",
                "ratios": ratios,
                "targets": targets,
                "figures": figures,
                "pass": all(met.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
