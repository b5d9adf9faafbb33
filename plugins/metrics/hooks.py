"""The metrics plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin to add its own metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mega import hookspec

if TYPE_CHECKING:
    from mega import App

    from .exposition import Family
    from .registry import MetricsRegistry


@hookspec
def mega_metrics_instruments(app: App, metrics: MetricsRegistry) -> None:
    """Create this plugin's counters, gauges and histograms on ``metrics`` (once, at boot,
    after every plugin's ``mega_before_boot``) and wire them to what it counts — its own
    events, say."""


@hookspec
def mega_metrics_collectors(app: App) -> Callable[[], Iterable[Family]] | None:
    """A function called at every scrape (on the event loop; keep it to reading values) that
    returns metric families built from what the plugin counts in plain integers."""
