"""The ``tracing`` plugin: OpenTelemetry spans, W3C trace context through HTTP **and** jobs.

A request's server span continues the trace of its ``traceparent`` header; a job enqueued while
it runs carries the trace in the message's headers, so the worker's run span — on another
machine, hours later — is part of the same trace. Log lines written inside a span carry its
``trace_id`` and ``span_id``. See docs/plugins/tracing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from mega import App, PluginConfig, PluginSpec, hookimpl, import_driver

if TYPE_CHECKING:
    from .tracer import Tracing


class TracingSettings(PluginConfig):
    """The ``[plugins.tracing]`` table."""

    #: share of new traces recorded (0..1); a request continuing a sampled trace follows its
    #: parent's decision
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    #: where finished spans go: OTLP over HTTP, the console, memory (tests), or nowhere
    exporter: Literal["otlp", "console", "memory", "none"] = "none"
    #: the OTLP/HTTP traces endpoint (default: the SDK's, or OTEL_EXPORTER_OTLP_ENDPOINT)
    otlp_endpoint: str | None = None
    #: service.name (default: [app] name)
    service_name: str | None = None
    #: extra resource attributes (deployment.environment.name defaults to [app] env)
    attributes: dict[str, str] = Field(default_factory=dict)
    #: a span per database statement (its SQL text, never its parameters); off by default:
    #: busy apps make many
    db_queries: bool = False


plugin = PluginSpec(
    name="tracing",
    description="OpenTelemetry spans; trace context through HTTP headers and job messages",
    provides=("tracing",),
    config=TracingSettings,
)


@hookimpl
def mega_before_boot(app: App) -> None:
    import_driver("opentelemetry.sdk.trace", extra="otel", what="the tracing plugin")
    from .tracer import Tracing

    settings = app.plugin_config("tracing")
    assert isinstance(settings, TracingSettings)
    app.extensions["tracing"] = Tracing(app, settings)


def tracing_of(app: App) -> Tracing:
    """The app's ``Tracing`` (its tracer: ``tracing_of(app).tracer.start_as_current_span``)."""
    found: Tracing = app.extensions["tracing"]
    return found


@hookimpl
def mega_http_wrap_request(app: App) -> Any:
    return tracing_of(app).http_span


@hookimpl
def mega_jobs_wrap_run(app: App) -> Any:
    return tracing_of(app).jobs.run


@hookimpl
def mega_jobs_message_headers(app: App) -> Any:
    return tracing_of(app).jobs.inject


@hookimpl
def mega_schedule_wrap_fire(app: App) -> Any:
    return tracing_of(app).schedule_span


@hookimpl
def mega_db_wrap_query(app: App) -> Any:
    tracing = tracing_of(app)
    return tracing.db_span if tracing.settings.db_queries else None


@hookimpl
def mega_after_shutdown(app: App) -> None:
    # last, after adapters closed: spans of the whole shutdown (job drains, final queries)
    # are exported too
    tracing_of(app).shutdown()


__all__ = ["TracingSettings", "plugin", "tracing_of"]
