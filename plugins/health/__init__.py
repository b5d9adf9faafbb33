"""The ``health`` plugin: ``/health/live``, ``/health/ready`` and ``/health/startup``.

Readiness runs every check concurrently, each under its own timeout: one per adapter (its
``health()`` when it has one, else "connected"), plus the checks plugins contribute with
``registry.contribute("health-check", name, check)``. It answers 503 from the moment shutdown
starts, so a load balancer stops sending traffic while in-flight requests finish.
"""

from __future__ import annotations

from pydantic import Field

from mega import App, PluginConfig, PluginRegistry, PluginSpec, hookimpl

from .probes import Probes


class HealthSettings(PluginConfig):
    """The ``[plugins.health]`` table."""

    #: each check fails when it takes longer than this
    check_timeout_ms: int = Field(default=1_000, gt=0)


plugin = PluginSpec(
    name="health",
    description="Liveness, readiness and startup probes with per-dependency checks",
    requires=("http",),
    config=HealthSettings,
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from mega.plugins.http import get

    from .probes import LiveBody, ReadyBody, StartupBody, live, ready, startup

    # the probes answer their own JSON (not the envelope): the OpenAPI document says which
    routes = {
        "health.live": get("/health/live", live, responses={200: LiveBody}),
        "health.ready": get("/health/ready", ready, responses={200: ReadyBody, 503: ReadyBody}),
        "health.startup": get(
            "/health/startup", startup, responses={200: StartupBody, 503: StartupBody}
        ),
    }
    for name, route in routes.items():
        registry.contribute("route", name, route)


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("health")
    assert isinstance(settings, HealthSettings)
    app.extensions["health"] = Probes(app, settings.check_timeout_ms / 1000)


__all__ = ["HealthSettings", "Probes", "plugin"]
