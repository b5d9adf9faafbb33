"""Metrics scrape cost as a curve of the series count: 2 000 vs 20 000 series, same run.

One histogram family (13 buckets, labels route and method) with N series, built in the metrics
plugin's registry and in prometheus_client (the baseline, same series). Measured in CPU time,
rounds interleaving the sizes and the contenders:

- ``render``: mega's exposition of one process's metrics (``render(snapshot(...))``, what
  ``GET /metrics`` renders) vs prometheus_client's ``generate_latest``;
- ``merged``: the same after summing two workers' families series by series (``merge``, what
  the endpoint does when `mega serve` runs several workers), then rendering.

What the curve should look like: linear in the series — each is copied, (merged,) formatted
once — so the time per series stays flat: each ratio (per series at 20 000 over per series at
2 000) near 1. Python's collector walks every live object in its full collections, and 20 000
series are ten times as many, so a little growth is the runtime's; prometheus_client's ratio
shows how much.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http (starlette imports it): the script's
# own folder goes after the standard library
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

from mega.plugins.metrics import MetricsRegistry, render, snapshot  # noqa: E402
from mega.plugins.metrics.cluster import merge  # noqa: E402
from mega.plugins.metrics.registry import DEFAULT_BUCKETS  # noqa: E402

SMALL, LARGE = 2_000, 20_000


def contenders(n: int) -> dict[str, Callable[[], Any]]:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client import Histogram as ClientHistogram

    ours = MetricsRegistry(max_series=2 * LARGE).histogram(
        "req_seconds", "Requests.", ["route", "method"]
    )
    registry = CollectorRegistry()
    theirs = ClientHistogram(
        "req_seconds", "Requests.", ["route", "method"], registry=registry, buckets=DEFAULT_BUCKETS
    )
    for i in range(n):
        value = 0.003 * (i % 11)
        ours.labels(f"/r/{i}", "GET").observe(value)
        theirs.labels(f"/r/{i}", "GET").observe(value)

    def merged() -> str:
        mine = snapshot([ours])
        return render(merge([("1", mine), ("2", snapshot([ours]))]))

    return {
        "render": lambda: render(snapshot([ours])),
        "merged": merged,
        "prometheus_client": lambda: generate_latest(registry),
    }


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()  # each call starts from the same collector state; its own collections count
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def measure(rounds: int, baseline_rounds: int) -> dict[str, dict[int, list[float]]]:
    by_n = {n: contenders(n) for n in (SMALL, LARGE)}
    ms: dict[str, dict[int, list[float]]] = {k: {SMALL: [], LARGE: []} for k in by_n[SMALL]}
    for fn in by_n[SMALL].values():  # warm up the code paths
        fn()
    for r in range(rounds):
        kinds = list(ms)
        for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
            if kind == "prometheus_client" and r >= baseline_rounds:
                continue
            for n in (SMALL, LARGE) if r % 2 else (LARGE, SMALL):
                ms[kind][n].append(timed(by_n[n][kind]))
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    # prometheus_client takes ~5x mega's time: a quick run times it in one round only
    rounds, baseline_rounds = (3, 1) if args.quick else (11, 11)
    ms = measure(rounds, baseline_rounds)
    med = statistics.median

    def per_series(kind: str) -> float:
        pairs = zip(ms[kind][SMALL], ms[kind][LARGE], strict=True)
        return round(med((b / LARGE) / (a / SMALL) for a, b in pairs), 3)

    ratios = {f"{kind}_per_series_{LARGE}_vs_{SMALL}": per_series(kind) for kind in ms}
    targets = {name: "<=1.3" for name in ratios}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures: dict[str, Any] = {
        f"{kind}_ms": {n: round(med(v), 1) for n, v in by_n.items()} for kind, by_n in ms.items()
    }
    figures |= {
        f"{kind}_us_per_series": {n: round(med(v) / n * 1000, 2) for n, v in by_n.items()}
        for kind, by_n in ms.items()
    }
    figures[f"render_vs_prometheus_client_at_{LARGE}"] = round(
        med(ms["render"][LARGE]) / med(ms["prometheus_client"][LARGE]), 3
    )
    figures["rounds"] = rounds
    figures["prometheus_client_rounds"] = baseline_rounds
    for name, value in ratios.items():
        print(f"{name:44s} {value:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:44s} {value}")
    result = {"bench": "curves_scrape", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": all(met.values())}))


if __name__ == "__main__":
    main()
