"""Exemplars: a request in a sampled trace leaves its trace id on its latency bucket, in
OpenMetrics (read back with the reference parser) and never in Prometheus text."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from mega.testing import boot_app, http_client

pytest.importorskip("opentelemetry.sdk")

CONFIG = {
    "app": {"plugins": ["http", "metrics", "tracing"]},
    "plugins": {"tracing": {"exporter": "memory", "sample_ratio": 1.0}},
}
OPENMETRICS = {"accept": "application/openmetrics-text; version=1.0.0"}


async def test_a_sampled_request_is_its_latency_bucket_s_exemplar():
    async with boot_app(CONFIG, environ={}) as app, http_client(app) as client:
        assert (await client.get("/nowhere")).status_code == 404  # not a routed request
        assert (await client.get("/metrics")).status_code == 200  # this one is
        [span] = [s for s in app.extensions["tracing"].finished_spans() if s.name == "GET /metrics"]
        trace_id = format(span.context.trace_id, "032x")
        span_id = format(span.context.span_id, "016x")
        openmetrics = (await client.get("/metrics", headers=OPENMETRICS)).text
        prometheus = (await client.get("/metrics")).text
    buckets = [
        sample
        for family in text_string_to_metric_families(openmetrics)
        if family.name == "mega_http_request_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket") and sample.exemplar is not None
    ]
    assert buckets, "no exemplar on any bucket"
    exemplar = buckets[0].exemplar
    ids = {(e.exemplar.labels["trace_id"], e.exemplar.labels["span_id"]) for e in buckets}
    assert (trace_id, span_id) in ids
    assert exemplar.value > 0 and float(exemplar.timestamp) > 0
    assert "trace_id" not in prometheus


async def test_without_tracing_there_are_no_exemplars():
    config = {"app": {"plugins": ["http", "metrics"]}}
    async with boot_app(config, environ={}) as app, http_client(app) as client:
        await client.get("/metrics")
        text = (await client.get("/metrics", headers=OPENMETRICS)).text
    assert "# {" not in text
