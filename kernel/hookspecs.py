"""Every hook a mega plugin may implement.

Hooks are called with keyword arguments only. A hook implementation may be ``async``; the kernel
awaits it. The kernel calls lifecycle hooks plugin by plugin in dependency order (``requires`` /
``provides``), and ``mega_before_shutdown`` in the reverse order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .app import App
    from .registry import PluginRegistry

PROJECT = "mega"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def mega_register(registry: PluginRegistry) -> Any:
    """Register generators, dialects, adapter drivers and CLI commands; runs before boot."""


@hookspec
def mega_before_boot(app: App) -> Any:
    """Prepare: runs before adapters connect, in dependency order."""


@hookspec
def mega_after_boot(app: App) -> Any:
    """Start work (tasks, subscriptions): adapters are connected, in dependency order."""


@hookspec
def mega_before_shutdown(app: App) -> Any:
    """Stop work: runs in reverse dependency order, before adapters close."""


@hookspec
def mega_after_shutdown(app: App) -> Any:
    """Flush what must go last (telemetry): after adapters closed, in reverse dependency
    order, within what is left of the shutdown deadline."""


@hookspec
def mega_wrap_adapter(app: App, kind: str, alias: str, adapter: Any, options: Any) -> Any:
    """Return a replacement for an adapter (a proxy around it), or None to leave it: called
    once per adapter at boot, after every ``mega_before_boot`` and before adapters connect,
    plugin by plugin (each sees what the previous returned). ``options`` holds the keys of its
    ``[adapters.<kind>.<alias>]`` table that plugins declared with
    ``registry.adapter_option`` (the breaker plugin's ``breaker = "redis"``)."""
