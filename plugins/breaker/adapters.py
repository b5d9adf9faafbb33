"""``guarded(adapter, breaker)``: an adapter whose async calls go through a breaker.

What ``[adapters.<kind>.<alias>] breaker = "<name>"`` puts in the adapter's place at boot (the
plugin's ``mega_wrap_adapter``); code may wrap an adapter it holds itself:
``cache = guarded(ctx.cache(), breakers(ctx).get("redis"))``.
"""

from __future__ import annotations

import inspect
from typing import Any

from .core import Breaker

#: the adapter's lifecycle and readiness calls are never refused: health must see the real state
UNGUARDED = frozenset({"connect", "close", "health"})


class GuardedAdapter:
    """A proxy: every ``async`` method of the adapter (but ``UNGUARDED``) runs through the
    breaker; everything else is the adapter's own."""

    __slots__ = ("_methods", "adapter", "breaker")

    def __init__(self, adapter: Any, breaker: Breaker) -> None:
        self.adapter = adapter
        self.breaker = breaker
        self._methods: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        method = self._methods.get(name)
        if method is not None:
            return method
        value = getattr(self.adapter, name)
        if name in UNGUARDED or not inspect.iscoroutinefunction(value):
            return value
        method = self.breaker(value)
        self._methods[name] = method
        return method

    def __repr__(self) -> str:
        return f"GuardedAdapter({self.adapter!r}, {self.breaker!r})"


def guarded(adapter: Any, breaker: Breaker) -> Any:
    """``adapter`` with its async calls behind ``breaker``."""
    return GuardedAdapter(adapter, breaker)
