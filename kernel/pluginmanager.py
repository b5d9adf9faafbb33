"""The pluggy ``PluginManager`` of an app, and calling hooks plugin by plugin.

The kernel calls every lifecycle hook one plugin at a time, in dependency order, rather than as
one pluggy call: pluggy runs implementations in reverse registration order and stops at the first
exception, while shutdown must reach every plugin and every error must name its plugin.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .errors import MegaConfigError
from .log import get_logger

T = TypeVar("T")
HOOK_PREFIX = "mega_"


class MegaPluginManager(pluggy.PluginManager):
    """pluggy's manager for project ``mega``; any ``mega_*`` function counts as a hook impl."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        # per (hook, plugin): its implementations of the hook, or a pluggy caller when one of them
        # is a wrapper; a registration invalidates them (see register_plugin)
        self._one_callers: dict[tuple[str, int], Any] = {}
        #: MEGA_TRACE_PLUGINS=1: every hook call (and extension hook collected) is logged
        self.tracing = os.environ.get("MEGA_TRACE_PLUGINS") == "1"
        if self.tracing:
            self._trace_calls()

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if name.startswith("_"):
            # Module dunders and private helpers are never hooks; skipping them before pluggy's
            # getattr_static halves register() (measured in bench/boot.py).
            return None
        if isinstance(plugin, ModuleType) and not inspect.isroutine(vars(plugin).get(name)):
            # A plugin module's classes, constants and imported names (its PluginSpec, the
            # hookimpl marker) are never hooks either; pluggy would walk each one's MRO.
            return None
        opts = super().parse_hookimpl_opts(plugin, name)
        if (
            opts is None
            and name.startswith(HOOK_PREFIX)
            and inspect.isfunction(getattr(plugin, name, None))
        ):
            # An unmarked mega_* function is meant as a hook: treat it as one, so a misspelt
            # name fails as an unknown hook instead of being silently ignored.
            return {}
        return opts

    def add_plugin_hooks(self, name: str, hooks: ModuleType | type, origin: str) -> None:
        """Add the hook specifications plugin ``name`` declares (``PluginSpec(hooks=...)``).

        Each is named ``mega_<plugin>_<what>`` (``-`` in the plugin's name as ``_``), so two
        plugins' extension points never collide and a hook's name says whose it is.
        """
        prefix = hook_prefix(name)
        declared = [n for n in dir(hooks) if self.parse_hookspec_opts(hooks, n) is not None]
        wrong = sorted(n for n in declared if not n.startswith(prefix))
        if not declared or wrong:
            raise MegaConfigError(
                "plugin.invalid_hookspec",
                f"plugin {name!r} ({origin}) declares hooks in {hooks!r} "
                + (
                    f"not named {prefix}<what>: {', '.join(wrong)}"
                    if wrong
                    else "but none is marked with @mega.hookspec"
                ),
                {"plugin": name, "hooks": wrong or declared},
            )
        self.add_hookspecs(hooks)

    def register_plugin(
        self, name: str, module: ModuleType, origin: str, *, dormant: frozenset[str] = frozenset()
    ) -> None:
        """Register one plugin module; unknown hooks or hook arguments are errors naming it.

        ``dormant`` are the hook prefixes (``mega_ws_``) of installed plugins that are not
        enabled: implementing their hooks is not an error (an APM plugin supports ws apps and
        others alike); those implementations are simply never called.
        """
        self._one_callers.clear()
        try:
            self.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            raise MegaConfigError(
                "plugin.invalid_hook",
                f"plugin {name!r} ({origin}) has an invalid hook implementation: {exc}",
                {"plugin": name},
            ) from exc
        unknown = sorted(
            c.name
            for c in self.get_hookcallers(module) or []
            if not c.has_spec() and not c.name.startswith(tuple(dormant))
        )
        if unknown:
            self.unregister(module)
            known = sorted(
                n
                for n in dir(self.hook)
                if n.startswith(HOOK_PREFIX) and getattr(self.hook, n).has_spec()
            )
            raise MegaConfigError(
                "plugin.unknown_hook",
                f"plugin {name!r} ({origin}) implements unknown hook(s) {', '.join(unknown)}; "
                f"known hooks: {', '.join(known)}",
                {"plugin": name, "unknown": unknown, "known": known},
            )

    def call_one(self, hook: str, module: ModuleType, **kwargs: Any) -> list[Any]:
        """Call ``hook`` on one plugin only; returns its results (empty if it has no impl).

        Plain implementations are called directly, as pluggy would (last registered first,
        ``None`` results dropped): a subset caller per plugin and hook cost ~10 us a call at boot
        (bench/boot.py). A wrapper, or hook tracing, goes through pluggy.
        """
        if not hasattr(module, hook):
            return []
        key = (hook, id(module))
        caller = self._one_callers.get(key)
        if caller is None:
            impls = [i for i in getattr(self.hook, hook).get_hookimpls() if i.plugin is module]
            if self.tracing or any(i.hookwrapper or i.wrapper for i in impls):
                others = [p for p in self.get_plugins() if p is not module]
                caller = self.subset_hook_caller(hook, remove_plugins=others)
            else:
                caller = impls[::-1]
            self._one_callers[key] = caller
        if not isinstance(caller, list):
            return list(caller(**kwargs))
        results = []
        for impl in caller:
            result = impl.function(*[kwargs[arg] for arg in impl.argnames])
            if result is not None:
                results.append(result)
        return results

    def _trace_calls(self) -> None:
        log = get_logger(component="pluggy")

        def before(hook_name: str, impls: Any, kwargs: Any) -> None:
            log.info("hook.call", hook=hook_name, plugins=[self.get_name(i.plugin) for i in impls])

        def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
            log.info("hook.return", hook=hook_name, failed=outcome.exception is not None)

        self.add_hookcall_monitoring(before, after)


def hook_prefix(plugin: str) -> str:
    """The prefix of the hooks plugin ``plugin`` may declare: ``mega_<plugin>_``."""
    return f"{HOOK_PREFIX}{plugin.replace('-', '_')}_"


async def maybe_await(value: T | Awaitable[T]) -> T:
    """The one helper that awaits a hook result that may be a value or an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value
