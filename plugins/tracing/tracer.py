"""``Tracing``: the app's tracer provider, its HTTP span hook and its job propagation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import structlog
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from mega.plugins.http import TRACE_KEY

if TYPE_CHECKING:
    from mega import App

    from . import TracingSettings

SERVER = trace.SpanKind.SERVER
CONSUMER = trace.SpanKind.CONSUMER


def build_resource(
    app: App, *, service_name: str | None = None, attributes: dict[str, str] | None = None
) -> Resource:
    """The one resource of a process, shared by spans and OTLP metrics: service.name (default
    [app] name), service.version (the app's: [app] version, else its distribution's; left out
    when neither is known), deployment.environment.name ([app] env), extra attributes."""
    version = app.config.app_version()
    return Resource.create(
        {
            "service.name": service_name or app.config.app.name,
            **({"service.version": version} if version is not None else {}),
            "deployment.environment.name": app.config.app.env,
            **(attributes or {}),
        }
    )


@contextlib.contextmanager
def _logged(span: Any) -> Iterator[None]:
    """Bind a recording span's ids into every log line written inside it."""
    if not span.is_recording():
        yield
        return
    context = span.get_span_context()
    with structlog.contextvars.bound_contextvars(
        trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x")
    ):
        yield


def _ignore(status: int) -> None:
    return None


class _NoSpan:
    """The context manager of a request no span is made for (class-based: no generator)."""

    __slots__ = ()

    def __enter__(self) -> Callable[[int], None]:
        return _ignore

    def __exit__(self, *exc: object) -> None:
        return None


NO_SPAN = _NoSpan()


class JobPropagation:
    """``JobTracing`` for the jobs plugin: inject on enqueue, continue on run."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def inject(self) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        return headers or None

    @contextlib.contextmanager
    def run(self, subject: str, delivery: Any) -> Iterator[Any]:
        parent = propagate.extract(delivery.headers)
        with (
            self.tracer.start_as_current_span(
                f"{subject} process",
                context=parent,
                kind=CONSUMER,
                attributes={
                    "messaging.destination.name": subject,
                    "messaging.operation.type": "process",
                    "messaging.message.id": str(delivery.seq),
                    "messaging.message.delivery_count": delivery.delivery_count,
                },
            ) as span,
            _logged(span),
        ):
            yield span


class Tracing:
    """``app.extensions["tracing"]``."""

    def __init__(self, app: App, settings: TracingSettings) -> None:
        self.settings = settings
        self.provider = TracerProvider(
            resource=build_resource(
                app, service_name=settings.service_name, attributes=settings.attributes
            ),
            sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        )
        self.memory: InMemorySpanExporter | None = None
        if settings.exporter == "memory":
            self.memory = InMemorySpanExporter()
            self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        elif settings.exporter == "console":
            self.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif settings.exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.never_sample = settings.sample_ratio == 0.0
        #: spans of your own: ``app.extensions["tracing"].tracer.start_as_current_span(...)``
        self.tracer = self.provider.get_tracer("mega")
        self.jobs = JobPropagation(self.tracer)

    def http_span(self, scope: Any, template: str) -> Any:
        """The server span of one routed request, named after its route template."""
        if self.never_sample:
            for key, _value in scope.get("headers", ()):
                if key == b"traceparent":
                    break
            else:
                # sampled off and no caller's trace to follow: no span would be recorded, so
                # make none (the SDK's unsampled span costs ~20 µs a request)
                return NO_SPAN
        return self._http_span(scope, template)

    @contextlib.contextmanager
    def _http_span(self, scope: Any, template: str) -> Iterator[Callable[[int], None]]:
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", ())
            if key in (b"traceparent", b"tracestate")
        }
        method = scope["method"]
        with (
            self.tracer.start_as_current_span(
                f"{method} {template}",
                context=propagate.extract(carrier) if carrier else None,
                kind=SERVER,
                attributes={
                    "http.request.method": method,
                    "http.route": template,
                    "url.path": scope.get("path", ""),
                },
            ) as span,
            _logged(span),
        ):
            if span.is_recording():  # the metrics plugin's exemplar for this request
                context = span.get_span_context()
                scope[TRACE_KEY] = (
                    format(context.trace_id, "032x"),
                    format(context.span_id, "016x"),
                )

            def finish(status: int) -> None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(trace.Status(trace.StatusCode.ERROR))

            yield finish

    @contextlib.contextmanager
    def schedule_span(self, name: str, fire_time: Any) -> Iterator[Any]:
        """The span of one schedule fire's run (a new trace per fire)."""
        with (
            self.tracer.start_as_current_span(
                f"schedule {name}",
                kind=trace.SpanKind.INTERNAL,
                attributes={
                    "mega.schedule": name,
                    "mega.schedule.fire_time": fire_time.isoformat(),
                },
            ) as span,
            _logged(span),
        ):
            yield span

    @contextlib.contextmanager
    def db_span(self, database: Any, sql: str) -> Iterator[Any]:
        """A client span per statement: its text (parameters are never recorded)."""
        operation = sql.split(None, 1)[0].upper() if sql.strip() else "SQL"
        with self.tracer.start_as_current_span(
            f"{operation} {database.alias}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "db.system.name": database.dialect.name,
                "db.namespace": database.alias,
                "db.operation.name": operation,
                "db.query.text": sql,
            },
        ) as span:
            yield span

    def finished_spans(self) -> list[Any]:
        """Spans recorded so far (``exporter = "memory"``: for tests)."""
        return list(self.memory.get_finished_spans()) if self.memory is not None else []

    def shutdown(self) -> None:
        """Flush and stop the exporters (runs at app shutdown)."""
        self.provider.shutdown()
