"""Extension points: hooks a plugin declares for others to implement, collected once at boot.

A plugin declares its extension points as pluggy hook specifications (``PluginSpec(hooks=...)``,
a module or class of ``@hookspec`` functions named ``mega_<plugin>_<what>``), as pytest plugins
do through ``pytest_addhooks``. Any enabled plugin — first-party or ``pip install``ed — may
implement them with ``@hookimpl``.

Extension hooks are **factories**: the declaring plugin calls each implementation once, at boot
(``app.hooks.collect(...)``, after every plugin's ``mega_before_boot``), and keeps what they
return — a listener, an observer, a context manager factory — in a plain list it calls on its
hot path. Nothing goes through pluggy per request, job or query, and with no implementation the
path is the bare one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .errors import MegaError, MegaLifecycleError
from .log import get_logger

if TYPE_CHECKING:
    from .discovery import LoadedPlugin
    from .pluginmanager import MegaPluginManager


class Hooks:
    """``app.hooks``: the implementations of declared hooks, in plugin (dependency) order."""

    def __init__(self, pm: MegaPluginManager, plugins: Sequence[LoadedPlugin]) -> None:
        self._pm = pm
        self._order = {p.name: i for i, p in enumerate(plugins)}
        # MEGA_TRACE_PLUGINS=1: log each extension hook collected, as lifecycle hooks are
        self._trace = get_logger(component="pluggy") if pm.tracing else None

    def implementers(self, hook: str) -> list[str]:
        """Names of the enabled plugins implementing ``hook``, in plugin order."""
        return [name for name, _fn, _args in self._impls(hook)]

    def collect(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of ``hook`` once with ``kwargs``, in plugin order, and
        return what they returned, leaving out ``None`` (an implementation that opts out).

        An implementation that raises fails with an error naming its plugin and the hook.
        """
        return [result for _plugin, result in self.collect_by_plugin(hook, **kwargs)]

    def collect_by_plugin(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``collect``, with the name of the plugin each result came from."""
        results = []
        impls = self._impls(hook)
        if self._trace is not None:
            self._trace.info("hook.collect", hook=hook, plugins=[p for p, _f, _a in impls])
        for plugin, fn, argnames in impls:
            result = _call(plugin, hook, fn, argnames, kwargs)
            if result is not None:
                results.append((plugin, result))
        return results

    def chain(self, hook: str, key: str, value: Any, **kwargs: Any) -> Any:
        """Pass ``value`` through every implementation of ``hook`` in plugin order: each gets
        the previous one's result as argument ``key`` and returns a replacement, or None to
        keep it. Returns the last."""
        for plugin, fn, argnames in self._impls(hook):
            result = _call(plugin, hook, fn, argnames, {**kwargs, key: value})
            if result is not None:
                value = result
        return value

    def _impls(self, hook: str) -> list[tuple[str, Callable[..., Any], tuple[str, ...]]]:
        caller = getattr(self._pm.hook, hook, None)
        if caller is None or not caller.has_spec():
            return []  # declared by no enabled plugin: its implementations are dormant
        found = []
        for impl in caller.get_hookimpls():
            name = self._pm.get_name(impl.plugin) or ""
            rank = self._order.get(name, len(self._order))
            found.append((rank, name, impl.function, tuple(impl.argnames)))
        found.sort(key=lambda item: item[0])
        return [(name, fn, argnames) for _rank, name, fn, argnames in found]


def _call(
    plugin: str, hook: str, fn: Callable[..., Any], argnames: tuple[str, ...], kwargs: Any
) -> Any:
    with blame(plugin, hook):
        # like pluggy, an implementation takes the spec's arguments it names
        return fn(**{k: kwargs[k] for k in argnames if k in kwargs})


@contextlib.contextmanager
def blame(plugin: str, hook: str) -> Iterator[None]:
    """Name ``plugin`` and ``hook`` in what the block raises: a ``MegaError`` gets them in its
    details; anything else becomes ``lifecycle.hook_failed``, chained."""
    try:
        yield
    except MegaError as exc:
        exc.details.setdefault("plugin", plugin)
        exc.details.setdefault("hook", hook)
        raise
    except Exception as exc:
        raise MegaLifecycleError(
            "lifecycle.hook_failed",
            f"plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}",
            {"plugin": plugin, "hook": hook, "cause": repr(exc)},
        ) from exc


def nest(
    wrappers: Sequence[Callable[..., AbstractContextManager[Any]]],
) -> Callable[..., AbstractContextManager[Any]] | None:
    """One context manager factory entering every one of ``wrappers`` (first outermost) with
    the same arguments; what it yields is the list of what they yielded. ``None`` for none,
    the wrapper itself for one (no extra frame on the hot path)."""
    if not wrappers:
        return None
    if len(wrappers) == 1:
        return wrappers[0]
    chain = tuple(wrappers)

    @contextlib.contextmanager
    def nested(*args: Any) -> Iterator[list[Any]]:
        with contextlib.ExitStack() as stack:
            yield [stack.enter_context(wrap(*args)) for wrap in chain]

    return nested


def fan_out(functions: Sequence[Callable[..., Any]]) -> Callable[..., Any] | None:
    """One function calling each of ``functions`` with the same arguments, in order (``None``
    for none; the function itself for one)."""
    if not functions:
        return None
    if len(functions) == 1:
        return functions[0]
    chain = tuple(functions)

    def fanned(*args: Any) -> None:
        for fn in chain:
            fn(*args)

    return fanned
