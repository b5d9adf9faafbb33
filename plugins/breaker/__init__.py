"""The ``breaker`` plugin: circuit breakers for calls to anything that can fail.

Each ``[plugins.breaker.<name>]`` table defines one breaker, validated at boot. Code reaches them
through ``breakers(ctx)`` (or ``app.extensions["breaker"]``)::

    from mega.plugins.breaker import breakers

    async def charge(ctx, order):
        async with breakers(ctx).get("payments"):
            return await gateway.charge(order)

See docs/plugins/breaker.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mega import App, Ctx, MegaConfigError, PluginConfig, PluginRegistry, PluginSpec, hookimpl

from .adapters import GuardedAdapter, guarded
from .core import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerOpen, BreakerOptions, Guard
from .registry import EVENTS, Breakers


class BreakerDefinition(BaseModel):
    """One ``[plugins.breaker.<name>]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_ratio: float = Field(default=0.5, gt=0, le=1)
    min_calls: int = Field(default=10, ge=1)
    window_ms: int = Field(default=10_000, gt=0)
    buckets: int = Field(default=10, ge=1, le=1_000)
    consecutive_failures: int = Field(default=5, ge=0)
    open_ms: int = Field(default=30_000, gt=0)
    half_open_probes: int = Field(default=1, ge=1)
    timeout_ms: int = Field(default=0, ge=0)
    readiness: bool = False

    def options(self) -> BreakerOptions:
        return BreakerOptions(
            failure_ratio=self.failure_ratio,
            min_calls=self.min_calls,
            window_s=self.window_ms / 1000,
            buckets=self.buckets,
            consecutive_failures=self.consecutive_failures,
            open_s=self.open_ms / 1000,
            half_open_probes=self.half_open_probes,
            timeout_s=self.timeout_ms / 1000,
        )


class BreakerSettings(PluginConfig):
    """The ``[plugins.breaker]`` table: ``max_keys``, and one sub-table per breaker."""

    model_config = ConfigDict(extra="allow", frozen=True)

    #: per-key breakers kept at most (closed ones are dropped, oldest first, past this)
    max_keys: int = Field(default=10_000, ge=1)
    __pydantic_extra__: dict[str, BreakerDefinition] = Field(init=False)

    @model_validator(mode="after")
    def _names(self) -> BreakerSettings:
        for name in self.breakers:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"breaker name {name!r} must be letters, digits, '-' or '_'")
        return self

    @property
    def breakers(self) -> dict[str, BreakerDefinition]:
        """Every defined breaker by name."""
        return dict(self.__pydantic_extra__ or {})


plugin = PluginSpec(
    name="breaker",
    description="Circuit breakers: fail fast while a dependency is down",
    provides=("breaker",),
    config=BreakerSettings,
)


def breakers(ctx: Ctx | App) -> Breakers:
    """The app's ``Breakers`` (``breakers(ctx).get("payments")``)."""
    app = ctx if isinstance(ctx, App) else ctx.app
    found: Breakers = app.extension("breaker", needed_by="breakers(ctx)")
    return found


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_option(
        "breaker",
        "name of a [plugins.breaker.<name>] definition every call of the adapter goes through",
    )


@hookimpl
def mega_wrap_adapter(app: App, kind: str, alias: str, adapter: Any, options: Any) -> Any:
    # [adapters.<kind>.<alias>] breaker = "<name>": the adapter's calls go through that breaker
    name = options.get("breaker")
    if name is None:
        return None
    defined = breakers(app).definitions
    if not isinstance(name, str) or name not in defined:
        raise MegaConfigError(
            "breaker.unknown",
            f"[adapters.{kind}.{alias}] breaker = {name!r} names no breaker; define it as "
            f"[plugins.breaker.{name}] (defined: {', '.join(sorted(defined)) or 'none'})",
            {"adapter": f"{kind}.{alias}", "breaker": name, "defined": sorted(defined)},
        )
    return guarded(adapter, breakers(app).get(name))


@hookimpl
def mega_health_checks(app: App) -> dict[str, Any]:
    # with the health plugin: readiness fails while a readiness breaker is open
    return {"breaker": breakers(app).readiness_check}


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("breaker")
    assert isinstance(settings, BreakerSettings)
    defined = settings.breakers
    app.extensions["breaker"] = Breakers(
        {name: d.options() for name, d in defined.items()},
        max_keys=settings.max_keys,
        readiness=frozenset(name for name, d in defined.items() if d.readiness),
    )


@hookimpl
def mega_metrics_instruments(app: App, metrics: Any) -> None:
    from .metrics import wire_metrics

    wire_metrics(breakers(app), metrics)


__all__ = [
    "CLOSED",
    "EVENTS",
    "HALF_OPEN",
    "OPEN",
    "Breaker",
    "BreakerDefinition",
    "BreakerOpen",
    "BreakerOptions",
    "BreakerSettings",
    "Breakers",
    "Guard",
    "GuardedAdapter",
    "breakers",
    "guarded",
    "plugin",
]
