"""The ``health`` plugin: ``/health/live``, ``/health/ready`` and ``/health/startup``.

Readiness runs every check concurrently, each under its own timeout: one per adapter (its
``health()`` when it has one, else "connected"), plus the checks plugins add with the
``mega_health_checks`` hook. It answers 503 from the moment shutdown
starts, so a load balancer stops sending traffic while in-flight requests finish.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mega import App, MegaConfigError, PluginConfig, PluginSpec, hookimpl

from . import hooks
from .hooks import Check
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
    hooks=hooks,
)


@hookimpl
def mega_http_routes(app: App) -> list[Any]:
    from mega.plugins.http import get

    from .probes import LiveBody, ReadyBody, StartupBody, live, ready, startup

    # the probes answer their own JSON (not the envelope): the OpenAPI document says which
    return [
        get("/health/live", live, name="health.live", responses={200: LiveBody}),
        get(
            "/health/ready",
            ready,
            name="health.ready",
            responses={200: ReadyBody, 503: ReadyBody},
        ),
        get(
            "/health/startup",
            startup,
            name="health.startup",
            responses={200: StartupBody, 503: StartupBody},
        ),
    ]


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("health")
    assert isinstance(settings, HealthSettings)
    app.extensions["health"] = Probes(app, settings.check_timeout_ms / 1000)


@hookimpl
def mega_after_boot(app: App) -> None:
    probes: Probes = app.extensions["health"]
    owners = {f"{kind}.{alias}": "the adapter itself" for (kind, alias), _ in app.adapters.items()}
    for plugin, checks in app.hooks.collect_by_plugin("mega_health_checks", app=app):
        for name, check in checks.items():
            if name in owners:
                raise MegaConfigError(
                    "health.duplicate_check",
                    f"readiness check {name!r} of plugin {plugin!r} is taken (by "
                    f"{owners[name]}); name it after the plugin, e.g. {plugin}.{name}",
                    {"check": name, "plugin": plugin, "owner": owners[name]},
                )
            owners[name] = f"plugin {plugin!r}"
            probes.extra[name] = check


__all__ = ["Check", "HealthSettings", "Probes", "plugin"]
