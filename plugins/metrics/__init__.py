"""The ``metrics`` plugin: Prometheus / OpenMetrics on the app's own port, collected on scrape.

``GET /metrics`` (content negotiation: Prometheus text or OpenMetrics; gzip on request) serves
the app's metrics plus process and interpreter gauges, and ``target_info`` (the service's
resource attributes). Plugins' events become metrics here: jobs (enqueued, duplicates not
stored, started, done, retried, failed by phase, dead-lettered, run duration) and schedules
(fired, skipped by reason, failed by phase, duration). Users add their own through
``ctx.metrics.counter(...)``. Every metric is capped at ``max_series`` series. See
docs/plugins/metrics.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field, field_validator

from mega import App, Ctx, PluginConfig, PluginRegistry, PluginSpec, hookimpl

from . import hooks
from .cluster import PeerServer, gather_peers, merge, peers_dir
from .exposition import OPENMETRICS_TYPE, TEXT_TYPE, Family, encode, negotiate, render, snapshot
from .exposure import PRIVATE_NETWORKS, ScrapeGuard
from .process import pool_families, process_families
from .registry import (
    DEFAULT_BUCKETS,
    DEFAULT_MAX_SERIES,
    Counter,
    Gauge,
    Histogram,
    Metric,
    MetricsRegistry,
)
from .resource import resource_attributes, target_info


class MetricsSettings(PluginConfig):
    """The ``[plugins.metrics]`` table."""

    #: series per metric; label values past it share one overflow="true" series
    max_series: int = Field(default=DEFAULT_MAX_SERIES, ge=1)
    #: process and interpreter gauges (memory, gc, CPU, file descriptors)
    process: bool = True
    #: also push every metric over OTLP/HTTP to this endpoint
    #: ("http://collector:4318/v1/metrics"; needs the otel extra); unset: scrape only
    otlp_endpoint: str | None = None
    #: how often the OTLP push runs
    otlp_interval_ms: int = Field(default=15_000, ge=100)
    #: who may scrape /metrics: addresses or networks; the default is the machine itself and
    #: the private ranges (where a Prometheus runs), never the internet. ["0.0.0.0/0", "::/0"]
    #: opens it to every address (then set bearer_token)
    allow_networks: tuple[str, ...] = PRIVATE_NETWORKS
    #: also require ``Authorization: Bearer <token>`` (keep it in .env:
    #: MEGA__PLUGINS__METRICS__BEARER_TOKEN); unset: the network check alone
    bearer_token: str | None = Field(default=None, min_length=16)

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{network!r} is not an address or network (e.g. 10.0.0.0/8): {exc}"
                ) from None
        return value


plugin = PluginSpec(
    name="metrics",
    description="Prometheus/OpenMetrics on the main port: jobs, schedules, process, your own",
    provides=("metrics",),
    config=MetricsSettings,
    hooks=hooks,
)


class Metrics(MetricsRegistry):
    """``ctx.metrics``: the app's metrics registry, and the scrape."""

    def __init__(self, settings: MetricsSettings, app: App | None = None) -> None:
        super().__init__(max_series=settings.max_series)
        self.settings = settings
        self.app = app
        #: this worker's socket when `mega serve --workers N` runs it (see cluster.py)
        self.peer_server: PeerServer | None = None
        #: the OTLP push, when [plugins.metrics] otlp_endpoint is set
        self.otlp: Any = None
        #: the service this process is (service.name, service.version...), set at boot:
        #: the OTLP resource and the scrape's target_info
        self.resource: dict[str, str] = {}
        #: plugins' scrape-time families (mega_metrics_collectors), collected at boot
        self.collectors: list[Callable[[], Iterable[Family]]] = []
        #: who may scrape (set at boot from allow_networks / bearer_token)
        self.guard = ScrapeGuard(settings.allow_networks, settings.bearer_token,
                                 see_through_proxies=False)  # fmt: skip

    def collect(self) -> list[Family]:
        """This process's families: a copy of every value, taken on the loop."""
        families = snapshot(list(self.metrics.values()))
        if self.app is not None:
            families += pool_families(self.app)
        for collector in self.collectors:
            families += collector()
        if self.settings.process:
            families += process_families()
        return families

    async def scrape(self, *, openmetrics: bool = False) -> str:
        """Every metric as exposition text (summed over `mega serve`'s workers when it runs
        several); values copied on the loop, text built off it."""
        families = self.collect()
        if self.peer_server is not None:
            peers = await gather_peers(self.peer_server.path)
            families = merge([(str(os.getpid()), families), *peers])
        if self.resource:  # one target_info per endpoint, the resource only (never per worker)
            families = [target_info(self.resource), *families]
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: render(families, openmetrics=openmetrics)
        )


def metrics_of(ctx: Ctx | App) -> Metrics:
    """The app's metrics registry (what ``ctx.metrics`` is), typed."""
    app = ctx if isinstance(ctx, App) else ctx.app
    found: Metrics = app.extensions["metrics"]
    return found


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.ctx_attribute("metrics", metrics_of)


@hookimpl
def mega_http_routes(app: App) -> list[Any]:
    from mega.plugins.http import get

    from .endpoint import scrape_endpoint

    return [get("/metrics", scrape_endpoint, name="metrics.scrape", csrf=False)]


@hookimpl
def mega_http_observer(app: App) -> Any:
    from .wiring import http_observer

    return http_observer(metrics_of(app))


@hookimpl
def mega_jobs_listeners(app: App) -> Any:
    from .wiring import job_listeners

    return job_listeners(metrics_of(app))


@hookimpl
def mega_schedule_listeners(app: App) -> Any:
    from .wiring import schedule_listeners

    return schedule_listeners(metrics_of(app))


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("metrics")
    assert isinstance(settings, MetricsSettings)
    metrics = Metrics(settings, app)
    # forwarded headers are believed only from [plugins.http] trusted_proxies (mega serve)
    enabled = {p.name for p in app.plugins}
    http = app.plugin_config("http") if "http" in enabled else None
    proxies = getattr(http, "trusted_proxies", ())
    metrics.guard = ScrapeGuard(
        settings.allow_networks, settings.bearer_token, see_through_proxies=bool(proxies)
    )
    app.extensions["metrics"] = metrics


@hookimpl
async def mega_after_boot(app: App) -> None:
    metrics = metrics_of(app)
    metrics.resource = resource_attributes(app)
    app.hooks.collect("mega_metrics_instruments", app=app, metrics=metrics)
    metrics.collectors = app.hooks.collect("mega_metrics_collectors", app=app)
    directory = peers_dir()
    if directory is not None:
        metrics.peer_server = PeerServer(directory, metrics.collect)
        await metrics.peer_server.start()
    settings = metrics.settings
    if settings.otlp_endpoint:
        from .otlp import OtlpPush

        metrics.otlp = OtlpPush(
            metrics.resource, metrics.collect, settings.otlp_endpoint,
            settings.otlp_interval_ms / 1000,
        )  # fmt: skip
        metrics.otlp.start()


@hookimpl
async def mega_after_shutdown(app: App) -> None:
    metrics: Metrics = app.extensions["metrics"]
    if metrics.peer_server is not None:
        await metrics.peer_server.stop()
    if metrics.otlp is not None:
        await metrics.otlp.stop()  # the last push: what shutdown itself counted


__all__ = [
    "DEFAULT_BUCKETS",
    "OPENMETRICS_TYPE",
    "TEXT_TYPE",
    "Counter",
    "Family",
    "Gauge",
    "Histogram",
    "Metric",
    "Metrics",
    "MetricsRegistry",
    "MetricsSettings",
    "encode",
    "metrics_of",
    "negotiate",
    "plugin",
    "render",
    "snapshot",
]
