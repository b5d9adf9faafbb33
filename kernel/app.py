"""``App``: one run of the framework — config, plugins, registries, adapters and the lifecycle.

Lifecycle, in plugin dependency order::

    mega_before_boot  →  adapters connect  →  mega_after_boot        (boot)
    mega_before_shutdown (reverse order)  →  adapters close          (shutdown)

Every ``mega_before_shutdown`` runs even when an earlier one raised; the errors are logged and
raised together as ``MegaShutdownError`` at the end. If boot fails half-way, the plugins whose
``mega_before_boot`` completed get ``mega_before_shutdown`` and connected adapters are closed
before the boot error propagates.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from .config import Config, find_project_root, load_config
from .ctx import Ctx
from .discovery import Catalog, LoadedPlugin
from .errors import MegaConfigError, MegaLifecycleError, MegaShutdownError
from .hooks import Hooks, blame
from .loader import load_plugins
from .log import add_log_sink, configure_logging, get_logger, remove_log_sink
from .pluginmanager import maybe_await
from .spec import PluginConfig

Phase = Literal["created", "booting", "running", "draining", "stopping", "stopped", "failed"]
#: Once the shutdown deadline has passed, each remaining step (a plugin's before_shutdown, an
#: adapter's close) still gets this long: one hung plugin must not keep the others from releasing
#: what they hold. Worst case: deadline + this times the remaining steps; a second signal exits
#: at once.
LATE_STEP_BUDGET_S = 0.5


class App:
    """A mega application. Build with ``App.from_project()`` or ``App.from_dict()``; then
    ``async with app:`` (or ``await app.boot()`` … ``await app.shutdown()``).

    Building imports the enabled plugins, validates every config table, fills the registries and
    builds the adapters; any problem raises ``MegaConfigError`` here, before anything runs.
    """

    def __init__(
        self, config: Config, *, catalog: Catalog | None = None, tool: bool = False
    ) -> None:
        configure_logging(config.app.log_level, config.app.log_format)
        loaded = load_plugins(config, catalog=catalog)
        self.config = config
        self.catalog = loaded.catalog
        #: enabled plugins in dependency order
        self.plugins: list[LoadedPlugin] = loaded.plugins
        self.pm = loaded.pm
        self.registry = loaded.registry
        self.adapters = loaded.adapters
        self._plugin_configs = loaded.plugin_configs
        #: where plugins keep their runtime objects (a job worker, a server…), by plugin name;
        #: each plugin's own: another plugin reaches it through that plugin's public API
        self.extensions: dict[str, Any] = {}
        #: the implementations of declared hooks (extension points), in plugin order
        self.hooks = Hooks(self.pm, self.plugins)
        #: ``ctx.<name>`` getters enabled plugins registered
        self.ctx_attributes: dict[str, Callable[[App], Any]] = {
            name: entry.value for name, entry in self.registry.ctx_attributes.items()
        }
        #: a one-shot tool (``mega migrate``, ``mega jobs``, ``mega console``) runs this app:
        #: plugins start no background work of their own (no job consumption, no schedule
        #: fires, no outbox relay); the command starts what it needs explicitly
        self.tool = tool
        self.log = get_logger(app=config.app.name)
        self.phase: Phase = "created"
        self._booted: list[LoadedPlugin] = []
        #: monotonic time the shutdown began (the signal), which its one deadline counts from
        self.shutdown_started: float | None = None
        self._signalled = False

    @classmethod
    def from_project(
        cls,
        root: Path | str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        tool: bool = False,
    ) -> App:
        """Build the app of the project at ``root`` (default: the nearest ``mega.toml`` upward).

        The project root goes on ``sys.path`` so that ``apps.<app>`` modules import. ``tool``:
        see ``App.tool``.
        """
        found = Path(root) if root is not None else find_project_root()
        if found is None:
            raise MegaConfigError(
                "config.not_found",
                f"no mega.toml in {Path.cwd()} or any parent directory; run mega from a project "
                "directory or create one with `mega new <project>`",
                {"cwd": str(Path.cwd())},
            )
        config = load_config(found, environ=environ)
        if str(config.root) not in sys.path:
            sys.path.insert(0, str(config.root))
        return cls(config, tool=tool)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        root: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
        tool: bool = False,
    ) -> App:
        """Build an app from a config mapping shaped like ``mega.toml`` (tests, embedding)."""
        return cls(load_config(root, data=data, environ=environ), tool=tool)

    # -- what plugins and handlers use ------------------------------------------------------

    def ctx(self, **bindings: Any) -> Ctx:
        """A ``Ctx`` whose logger carries ``bindings`` (request_id=…, job_id=…)."""
        return Ctx(self, self.log.bind(**bindings) if bindings else self.log)

    def extension(self, plugin: str, *, needed_by: str) -> Any:
        """``extensions[plugin]``, or ``plugin.not_enabled`` saying what needs that plugin
        (``app.extension("jobs", needed_by="run_job")``)."""
        try:
            return self.extensions[plugin]
        except KeyError:
            raise MegaConfigError(
                "plugin.not_enabled",
                f"{needed_by} needs the {plugin!r} plugin: add it to [app].plugins",
                {"plugin": plugin},
            ) from None

    def plugin_config(self, name: str) -> PluginConfig:
        """The validated ``[plugins.<name>]`` of an enabled plugin."""
        try:
            return self._plugin_configs[name]
        except KeyError:
            raise MegaConfigError(
                "plugin.not_enabled",
                f"plugin {name!r} is not enabled; enabled: "
                f"{', '.join(p.name for p in self.plugins) or '(none)'}",
                {"plugin": name},
            ) from None

    # -- lifecycle -------------------------------------------------------------------------

    async def boot(self) -> App:
        """Run ``mega_before_boot``, connect adapters, run ``mega_after_boot``."""
        if self.phase != "created":
            raise MegaLifecycleError(
                "lifecycle.already_booted",
                f"app {self.config.app.name!r} is {self.phase}; an App boots once — build a "
                "new one to boot again",
                {"phase": self.phase},
            )
        self.phase = "booting"
        try:
            for plugin in self.plugins:
                await self._call("mega_before_boot", plugin)
                self._booted.append(plugin)
            self._wrap_adapters()
            await self.adapters.connect_all()
            for (kind, _alias), adapter in self.adapters.items():
                if kind == "log-sink":
                    add_log_sink(adapter)
            for plugin in self.plugins:
                await self._call("mega_after_boot", plugin)
        except BaseException:
            self.phase = "failed"
            await self._stop()
            raise
        self.phase = "running"
        self.log.debug(
            "app.booted",
            plugins=[p.name for p in self.plugins],
            adapters=[f"{k}.{a}" for (k, a), _ in self.adapters.items()],
        )
        return self

    def _wrap_adapters(self) -> None:
        """Let plugins put a proxy in place of an adapter (``mega_wrap_adapter``)."""
        if not self.hooks.implementers("mega_wrap_adapter"):
            return
        for (kind, alias), adapter in self.adapters.items():
            wrapped = self.hooks.chain(
                "mega_wrap_adapter", "adapter", adapter, app=self, kind=kind, alias=alias,
                options=self.adapters.options(kind, alias),
            )  # fmt: skip
            if wrapped is not adapter:
                self.adapters.replace(kind, alias, wrapped)

    def begin_shutdown(self) -> None:
        """Mark the start of shutdown (a signal arrived): readiness answers 503 from now on,
        and the one shutdown deadline counts from now, the server's request drain included."""
        if self.phase == "running":
            self.phase = "draining"
            self.shutdown_started = time.monotonic()

    @property
    def shutdown_deadline(self) -> float:
        """Monotonic time by which shutdown must be over (``[app] shutdown_timeout_ms``)."""
        started = self.shutdown_started if self.shutdown_started is not None else time.monotonic()
        return started + self.config.app.shutdown_timeout_ms / 1000

    async def shutdown(self) -> None:
        """Shut down in phases under one deadline (``[app] shutdown_timeout_ms``, counted from
        ``begin_shutdown`` when a signal started it): ``mega_before_shutdown`` in reverse
        order (each plugin stops its work and drains), adapters close, then
        ``mega_after_shutdown`` (telemetry flush). Each phase's time is logged.

        Safe to call twice; a no-op before boot.
        """
        if self.phase not in ("running", "draining"):
            return
        self._signalled = self.shutdown_started is not None  # a signal began it, not a caller
        self.begin_shutdown()
        self.phase = "stopping"
        errors = await self._stop()
        self.phase = "stopped"
        self.log.debug("app.stopped", failed_steps=len(errors))
        if errors:
            raise MegaShutdownError(errors)

    async def __aenter__(self) -> App:
        return await self.boot()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.shutdown()
        except MegaShutdownError:
            if exc is None:
                raise
            # the body's own error matters more; shutdown errors were logged by _stop

    async def _call(self, hook: str, plugin: LoadedPlugin) -> None:
        with blame(plugin.name, hook):
            for result in self.pm.call_one(hook, plugin.module, app=self):
                await maybe_await(result)

    async def _stop(self) -> list[tuple[str, BaseException]]:
        timeout_s = self.config.app.shutdown_timeout_ms / 1000
        deadline = self.shutdown_deadline
        errors: list[tuple[str, BaseException]] = []
        phases: dict[str, float] = {}
        started = time.monotonic()
        signalled = self._signalled
        if signalled and self.shutdown_started is not None:
            # what the server spent draining requests before the app was told to stop
            phases["drain_requests"] = started - self.shutdown_started

        def budget() -> float:
            remaining = deadline - time.monotonic()
            return remaining if remaining > 0 else LATE_STEP_BUDGET_S

        stopping = list(reversed(self._booted))
        self._booted.clear()
        for hook in ("mega_before_shutdown", "mega_after_shutdown"):
            if hook == "mega_after_shutdown":
                began = time.monotonic()
                for (kind, _alias), adapter in self.adapters.items():
                    if kind == "log-sink":
                        remove_log_sink(adapter)  # nothing more goes to a closing sink
                errors += await self.adapters.close_all(timeout_s=budget())
                phases["close_adapters"] = time.monotonic() - began
            for plugin in stopping:
                step = f"plugin {plugin.name!r} {hook}"
                began = time.monotonic()
                try:
                    async with asyncio.timeout(budget()):
                        await self._call(hook, plugin)
                except TimeoutError:
                    errors.append((step, _deadline_error(timeout_s, plugin.name, hook)))
                except Exception as exc:
                    errors.append((step, exc))
                spent = time.monotonic() - began
                if spent >= 0.001:  # plugins without the hook cost nothing worth a line
                    phases[f"{plugin.name}.{hook.removeprefix('mega_')}"] = spent
        total_s = time.monotonic() - (self.shutdown_started or started)
        # a signalled, slow or failed shutdown is worth a line; a tool's quick exit is not
        report = self.log.info if signalled or errors or total_s > 1.0 else self.log.debug
        report(
            "app.shutdown_phases",
            total_ms=round(total_s * 1000, 1),
            deadline_ms=self.config.app.shutdown_timeout_ms,
            phases={name: round(s * 1000, 1) for name, s in phases.items()},
            failed=[step for step, _ in errors],
        )
        for step, failure in errors:
            self.log.error(
                "app.shutdown_step_failed", step=step, error=f"{type(failure).__name__}: {failure}"
            )
        return errors


def _deadline_error(
    timeout_s: float, plugin: str, hook: str = "mega_before_shutdown"
) -> MegaLifecycleError:
    return MegaLifecycleError(
        "lifecycle.shutdown_deadline",
        f"plugin {plugin!r} {hook} was cancelled: it ran past the shutdown deadline of "
        f"{timeout_s * 1000:.0f} ms; raise [app] shutdown_timeout_ms or make the hook faster",
        {"plugin": plugin, "hook": hook, "timeout_ms": timeout_s * 1000},
    )
