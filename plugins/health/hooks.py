"""The health plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mega import hookspec

if TYPE_CHECKING:
    from mega import App

#: ``check()``: sync or async; returns a detail for the report (or None/True), or raises
#: when the dependency is not ready (the message becomes the check's ``error``)
Check = Callable[[], Any]


@hookspec
def mega_health_checks(app: App) -> Mapping[str, Check] | None:
    """Readiness checks by name, next to one per adapter; collected once at boot. Each runs
    on every ``/health/ready`` under ``[plugins.health] check_timeout_ms``, concurrently with
    the others: keep them cheap (a ping, a state read)."""
