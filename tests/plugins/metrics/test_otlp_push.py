"""OTLP push to a collector stand-in on 127.0.0.1: what arrives, decoded with the OTLP protobufs."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mega.testing import boot_app

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")


class Collector:
    """Accepts OTLP/HTTP metric exports and keeps the decoded requests."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )

        received = self.received = []
        arrived = self.arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportMetricsServiceRequest()
                request.ParseFromString(body)
                received.append((self.path, request))
                arrived.set()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/metrics"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metrics(self, index: int = -1) -> dict:
        _path, request = self.received[index]
        [resource_metrics] = request.resource_metrics
        attributes = resource_metrics.resource.attributes
        found = {"resource": {a.key: a.value.string_value for a in attributes}}
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = metric
        return found


@pytest.fixture
def collector():
    running = Collector()
    yield running
    running.server.shutdown()


async def test_metrics_are_pushed_periodically_and_once_more_at_shutdown(collector):
    config = {
        "app": {"name": "shop", "env": "staging", "version": "2.3.1", "plugins": ["metrics"]},
        "plugins": {"metrics": {"otlp_endpoint": collector.url, "otlp_interval_ms": 200}},
    }
    async with boot_app(config, environ={}) as app:
        orders = app.ctx().metrics.counter("orders", "Orders placed.", ["currency"])
        orders.labels("EUR").inc(3)
        latency = app.ctx().metrics.histogram("export_seconds", "Export time.", buckets=(0.1, 1))
        latency.observe(0.05)
        latency.observe(2.0)
        await asyncio.wait_for(asyncio.to_thread(collector.arrived.wait, 10), 11)
        pushed = collector.metrics()
        orders.labels("EUR").inc(2)  # counted after that push, before shutdown
    assert collector.received[0][0] == "/v1/metrics"
    assert pushed["resource"]["service.name"] == "shop"
    assert pushed["resource"]["deployment.environment.name"] == "staging"
    assert pushed["resource"]["service.version"] == "2.3.1"  # the app's, not mega's
    [point] = pushed["orders"].sum.data_points
    assert pushed["orders"].sum.is_monotonic and point.as_double == 3
    assert point.attributes[0].key == "currency" and point.attributes[0].value.string_value == "EUR"
    [histogram] = pushed["export_seconds"].histogram.data_points
    assert list(histogram.explicit_bounds) == [0.1, 1.0]
    assert list(histogram.bucket_counts) == [1, 0, 1] and histogram.count == 2
    assert pushed["export_seconds"].unit == "s"
    assert "process_resident_memory_bytes" in pushed  # gauges too
    # the final push at shutdown carries what was counted after the last periodic one
    [last] = collector.metrics()["orders"].sum.data_points
    assert last.as_double == 5


async def test_an_unreachable_collector_is_logged_not_fatal():
    from mega.testing.services import free_port

    url = f"http://127.0.0.1:{free_port()}/v1/metrics"
    config = {
        "app": {"plugins": ["metrics"]},
        "plugins": {"metrics": {"otlp_endpoint": url, "otlp_interval_ms": 100}},
    }
    async with boot_app(config, environ={}) as app:
        push = app.extensions["metrics"].otlp
        assert await push.push() is False


def test_exemplars_travel_with_their_histogram_point():
    from opentelemetry.sdk.resources import Resource

    from mega.plugins.metrics.exposition import Family
    from mega.plugins.metrics.otlp import to_metrics_data

    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    exemplars = [None, (0.5, trace_id, span_id, 1_700_000_000.25), None]
    family = Family(
        "lat_seconds", "histogram", "Latency.", [({}, ([0, 1, 0], 0.5, (0.1, 1.0), exemplars))]
    )
    data = to_metrics_data([family], Resource.create({}), 1, 2)
    [point] = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    [exemplar] = point.exemplars
    assert exemplar.trace_id == int(trace_id, 16) and exemplar.span_id == int(span_id, 16)
    assert exemplar.value == 0.5 and exemplar.time_unix_nano == 1_700_000_000_250_000_000
