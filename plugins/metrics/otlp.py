"""OTLP push: the app's metrics sent to an OpenTelemetry collector every ``otlp_interval_ms``.

The hot path stays mega's registry (bench/observability.py); only the export goes through the
OpenTelemetry SDK: every interval the families a scrape would render become one
``MetricsData`` (cumulative sums, gauges, explicit-bucket histograms in seconds) handed to the
SDK's OTLP/HTTP exporter in a worker thread. The resource (resource.py: service.name,
service.version, deployment.environment.name, the tracing plugin's extra attributes) is also the
scrape's ``target_info``. The last push happens after adapters closed (``mega_after_shutdown``),
so counts made while shutting down are not lost.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from mega import get_logger, import_driver

if TYPE_CHECKING:
    from .exposition import Family


def to_metrics_data(families: list[Family], resource: Any, start_ns: int, now_ns: int) -> Any:
    """One OTLP ``MetricsData`` of ``families`` (cumulative since ``start_ns``)."""
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Histogram,
        HistogramDataPoint,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from mega import __version__

    cumulative = AggregationTemporality.CUMULATIVE
    metrics = []
    for family in families:
        data: Any
        if family.kind == "histogram":
            points = [
                HistogramDataPoint(
                    attributes=labels,
                    start_time_unix_nano=start_ns,
                    time_unix_nano=now_ns,
                    count=sum(counts),
                    sum=total,
                    bucket_counts=list(counts),
                    explicit_bounds=list(bounds),
                    min=float("nan"),
                    max=float("nan"),
                    exemplars=_exemplars(exemplars),
                )
                for labels, (counts, total, bounds, exemplars) in family.samples
            ]
            data = Histogram(data_points=points, aggregation_temporality=cumulative)
        else:
            numbers = [
                NumberDataPoint(
                    attributes=labels,
                    start_time_unix_nano=start_ns,
                    time_unix_nano=now_ns,
                    value=value,
                )
                for labels, value in family.samples
            ]
            if family.kind == "counter":
                data = Sum(
                    data_points=numbers, aggregation_temporality=cumulative, is_monotonic=True
                )
            else:
                data = Gauge(data_points=numbers)
        unit = "s" if family.name.endswith("_seconds") else ""
        metrics.append(Metric(name=family.name, description=family.help, unit=unit, data=data))
    scope = ScopeMetrics(
        scope=InstrumentationScope("mega", __version__), metrics=metrics, schema_url=""
    )
    return MetricsData(
        resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url="")]
    )


def _exemplars(found: list[Any] | None) -> list[Any]:
    if not found:
        return []
    from opentelemetry.sdk.metrics import Exemplar

    return [
        Exemplar(
            filtered_attributes={},
            value=value,
            time_unix_nano=round(stamp * 1_000_000) * 1_000,  # microseconds: exact enough
            span_id=int(span_id, 16),
            trace_id=int(trace_id, 16),
        )
        for value, trace_id, span_id, stamp in (e for e in found if e is not None)
    ]


class OtlpPush:
    """Pushes ``collect()``'s families every ``interval_s`` to ``endpoint`` (OTLP/HTTP)."""

    def __init__(
        self, attributes: dict[str, str], collect: Any, endpoint: str, interval_s: float
    ) -> None:
        import_driver("opentelemetry.sdk", extra="otel", what="OTLP metric push")
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.resources import Resource

        self.collect = collect
        self.interval_s = interval_s
        # an export (its retries included) never outlasts the interval, nor 10 s
        self.exporter = OTLPMetricExporter(
            endpoint=endpoint, timeout=max(1.0, min(10.0, interval_s))
        )
        # the SDK adds its telemetry.sdk.* attributes and OTEL_RESOURCE_ATTRIBUTES, as for spans
        self.resource = Resource.create(attributes)
        self.start_ns = time.time_ns()
        self.log = get_logger(plugin="metrics", exporter="otlp", endpoint=endpoint)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.push()

    async def push(self) -> bool:
        """Export once now; False (logged) when the collector refused or was unreachable."""
        data = to_metrics_data(self.collect(), self.resource, self.start_ns, time.time_ns())
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                None, self.exporter.export, data
            )
        except Exception as exc:
            self.log.warning("metrics.otlp_push_failed", error=repr(exc))
            return False
        ok = getattr(result, "name", "") == "SUCCESS"
        if not ok:
            self.log.warning("metrics.otlp_push_failed", result=str(result))
        return ok

    async def stop(self) -> None:
        """Stop the timer and push what was counted since the last export."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.push()
        await asyncio.get_running_loop().run_in_executor(None, self.exporter.shutdown)
