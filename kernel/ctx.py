"""``Ctx``: what handlers, jobs, schedules and channels receive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import DEFAULT_ALIAS
from .errors import MegaConfigError


class CtxAttributeError(MegaConfigError, AttributeError):
    """``ctx.<name>`` that no enabled plugin adds (a typo, or its plugin is not enabled)."""

    def __init__(self, name: str, known: list[str], installed: list[str]) -> None:
        if name in installed:  # plugins add ctx.<their name> (ctx.jobs, ctx.metrics)
            hint = f"ctx.{name} needs the {name!r} plugin: add it to [app].plugins"
        else:
            hint = f"if a plugin provides ctx.{name}, add it to [app].plugins"
        super().__init__(
            "ctx.unknown_attribute",
            f"ctx has no attribute {name!r} ({hint}); enabled plugins add: "
            f"{', '.join(known) or '(none)'}",
            {"name": name, "known": known},
        )


if TYPE_CHECKING:
    from .app import App
    from .config import Config
    from .spec import PluginConfig


class Ctx:
    """One unit of work's view of the app: adapters by alias, a bound logger, the config, and
    what enabled plugins add (``ctx.jobs``, ``ctx.metrics``, ``ctx.ws``…; each plugin documents
    its own and offers a typed accessor).

    Made by ``app.ctx(**bindings)``; the bindings (request id, job id, trace id…) go on ``log``.
    """

    __slots__ = ("app", "log")

    def __init__(self, app: App, log: Any) -> None:
        self.app = app
        self.log = log

    @property
    def config(self) -> Config:
        return self.app.config

    def plugin_config(self, name: str) -> PluginConfig:
        """The validated ``[plugins.<name>]`` table of an enabled plugin."""
        return self.app.plugin_config(name)

    def db(self, alias: str = DEFAULT_ALIAS) -> Any:
        """The ``[adapters.db.<alias>]`` adapter."""
        return self.app.adapters.get("db", alias)

    def cache(self, alias: str = DEFAULT_ALIAS) -> Any:
        """The ``[adapters.cache.<alias>]`` adapter."""
        return self.app.adapters.get("cache", alias)

    def lock(self, alias: str = DEFAULT_ALIAS) -> Any:
        """The ``[adapters.lock.<alias>]`` adapter."""
        return self.app.adapters.get("lock", alias)

    def bus(self, alias: str = DEFAULT_ALIAS) -> Any:
        """The ``[adapters.bus.<alias>]`` adapter."""
        return self.app.adapters.get("bus", alias)

    def __getattr__(self, name: str) -> Any:
        # what enabled plugins add (``ctx.jobs``, ``ctx.metrics``, ``ctx.ws``…): each
        # plugin registers its own with ``registry.ctx_attribute``
        getter = self.app.ctx_attributes.get(name)
        if getter is None:
            raise CtxAttributeError(name, sorted(self.app.ctx_attributes), self.app.catalog.names)
        return getter(self.app)

    def adapter(self, kind: str, alias: str = DEFAULT_ALIAS) -> Any:
        """Any adapter by kind (``session``, ``presence``, ``log-sink``…) and alias."""
        return self.app.adapters.get(kind, alias)
