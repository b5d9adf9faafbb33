"""Breakers' events as metrics, when the metrics plugin is enabled."""

from __future__ import annotations

from typing import Any

from .core import CLOSED, HALF_OPEN, OPEN
from .registry import Breakers

#: the ``mega_breaker_state`` gauge's values
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def wire_metrics(breakers: Breakers, metrics: Any) -> None:
    """``mega_breaker_state`` (0 closed, 1 half-open, 2 open) and ``mega_breaker_rejections``,
    labelled by breaker and key (``""`` for a breaker without key)."""
    state = metrics.gauge(
        "mega_breaker_state",
        "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        ["breaker", "key"],
    )
    rejections = metrics.counter(
        "mega_breaker_rejections", "Calls refused by an open breaker.", ["breaker", "key"]
    )

    def on_state(e: Any) -> None:
        state.labels(e.breaker, e.key or "").set(STATE_VALUES[e.state])

    for name in ("open", "half_open", "close"):
        breakers.events.on(name, on_state)
    breakers.events.on("reject", lambda e: rejections.labels(e.breaker, e.key or "").inc())
