"""`mega serve --workers 2`: one /metrics scrape answers for every worker."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mega.plugins.metrics.cluster import merge
from mega.plugins.metrics.exposition import Family

ROUTE = """
import os

from mega.plugins.http import get


async def hit(ctx):
    ctx.metrics.counter("demo_hits", "Hits.").inc()
    return {"pid": os.getpid()}


routes = [get("/hit", hit)]
"""


def samples(text: str, name: str) -> list:
    return [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def test_one_scrape_sums_every_worker(project, enable, mega, mega_serve):
    enable("metrics")
    (project / "apps/main/routes/hit.py").write_text(ROUTE)
    _server, url = mega_serve(project, mega.env(), "--workers", "2")
    pids: set[int] = set()
    hits = 0
    # a new connection per request: the kernel spreads accepts over the workers
    while len(pids) < 2 or hits < 40:
        assert hits < 2_000, f"every request went to {pids}"
        response = httpx.get(url + "/hit", timeout=10)
        pids.add(response.json()["data"]["pid"])
        hits += 1
    for _ in range(4):  # whichever worker answers the scrape, the sum is the same
        text = httpx.get(url + "/metrics", timeout=10).text
        [total] = samples(text, "demo_hits_total")
        assert total.value == hits
        requests = [
            s for s in samples(text, "mega_http_requests_total") if s.labels["route"] == "/hit"
        ]
        assert sum(s.value for s in requests) == hits
        # gauges stay per worker
        rss = samples(text, "process_resident_memory_bytes")
        assert {s.labels["worker"] for s in rss} == {str(p) for p in pids}


def test_merge_sums_counters_and_histograms_and_labels_gauges_by_worker():
    bounds = [0.1, 1.0]
    a = [
        Family("jobs", "counter", "Jobs.", [({"q": "x"}, 2.0), ({"q": "y"}, 1.0)]),
        Family("lat", "histogram", "Latency.", [({}, ([1, 2, 0], 1.5, bounds, None))]),
        Family("rss", "gauge", "Memory.", [({}, 100.0)]),
    ]
    b = [
        Family("jobs", "counter", "Jobs.", [({"q": "x"}, 3.0)]),
        Family("lat", "histogram", "Latency.", [({}, ([0, 1, 4], 9.0, bounds, None))]),
        Family("rss", "gauge", "Memory.", [({}, 50.0)]),
    ]
    merged = {f.name: f for f in merge([("11", a), ("12", b)])}
    assert sorted(merged["jobs"].samples, key=str) == [({"q": "x"}, 5.0), ({"q": "y"}, 1.0)]
    assert merged["lat"].samples == [({}, ([1, 3, 4], 10.5, bounds, None))]
    assert sorted(merged["rss"].samples, key=str) == [
        ({"worker": "11"}, 100.0),
        ({"worker": "12"}, 50.0),
    ]
