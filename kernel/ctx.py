"""``Ctx``: what handlers, jobs, schedules and channels receive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import DEFAULT_ALIAS
from .errors import MegaConfigError

if TYPE_CHECKING:
    from .app import App
    from .config import Config
    from .spec import PluginConfig


class Ctx:
    """One unit of work's view of the app: adapters by alias, a bound logger, the config.

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

    @property
    def jobs(self) -> Any:
        """The jobs plugin's ``Jobs``: ``await ctx.jobs.enqueue(SendEmail, payload)``."""
        return self._extension("jobs")

    @property
    def metrics(self) -> Any:
        """The metrics plugin's registry: ``ctx.metrics.counter("orders", "Orders placed.")``."""
        return self._extension("metrics", plugin="metrics")

    @property
    def workers(self) -> Any:
        """The jobs plugin's worker pools: ``await ctx.workers.run(ResizeImage, payload)``."""
        return self._extension("workers")

    @property
    def ws(self) -> Any:
        """The ws plugin's hub: ``await ctx.ws.broadcast("room:1", "said", {...})``,
        ``ctx.ws.presence.list("room:1")``."""
        return self._extension("ws", plugin="ws")

    def _extension(self, name: str, *, plugin: str = "jobs") -> Any:
        try:
            return self.app.extensions[name]
        except KeyError:
            raise MegaConfigError(
                "plugin.not_enabled",
                f"ctx.{name} needs the {plugin!r} plugin: add it to [app].plugins",
                {"plugin": plugin},
            ) from None

    def adapter(self, kind: str, alias: str = DEFAULT_ALIAS) -> Any:
        """Any adapter by kind (``session``, ``presence``, ``log-sink``…) and alias."""
        return self.app.adapters.get(kind, alias)
