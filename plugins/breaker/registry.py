"""``Breakers``: the app's named breaker definitions and their per-key breakers.

``breakers.get("payments")`` is the one breaker of that definition; ``breakers.get("payments",
key="acme")`` is a breaker of its own per key (per host, per tenant…), made on first use from the
same definition. State changes and rejections are events (``EVENTS``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from mega import Events, MegaNotFoundError

from .core import CLOSED, OPEN, Breaker, BreakerOptions, Clock, Fallback

#: every event ``breakers.events`` emits; each carries ``breaker``, ``key`` and ``state``
#: (``open``/``half_open``/``close`` also ``previous`` and ``reason``, ``open`` ``retry_after_s``)
EVENTS = ("open", "half_open", "close", "reject")
_EVENT_OF_STATE = {OPEN: "open", "half_open": "half_open", CLOSED: "close"}


class Breakers:
    """Named breaker definitions and the breakers made from them."""

    def __init__(
        self,
        definitions: Mapping[str, BreakerOptions] | None = None,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = 10_000,
        readiness: frozenset[str] = frozenset(),
    ) -> None:
        self.definitions: dict[str, BreakerOptions] = dict(definitions or {})
        #: definitions whose open breakers make readiness fail
        self.readiness = readiness
        self.events = Events("breaker", EVENTS)
        self.max_keys = max_keys
        self._clock = clock
        self._breakers: dict[tuple[str, str | None], Breaker] = {}

    def define(self, name: str, options: BreakerOptions) -> None:
        """Add (or replace) a definition in code; breakers already made keep their options."""
        self.definitions[name] = options

    def get(
        self, name: str, key: str | None = None, *, fallback: Fallback | None = None
    ) -> Breaker:
        """The breaker of definition ``name`` (and ``key``), made on first use."""
        breaker = self._breakers.get((name, key))
        if breaker is not None:
            return breaker
        options = self.definitions.get(name)
        if options is None:
            raise MegaNotFoundError(
                "breaker.unknown",
                f"no circuit breaker named {name!r}; define it under [plugins.breaker.{name}] "
                f"(defined: {', '.join(sorted(self.definitions)) or 'none'})",
                {"breaker": name, "known": sorted(self.definitions)},
            )
        if key is not None and len(self._breakers) >= self.max_keys:
            self._evict()
        breaker = Breaker(
            name,
            options,
            key=key,
            clock=self._clock,
            fallback=fallback,
            on_change=self._changed,
            on_reject=self._rejected,
        )
        self._breakers[(name, key)] = breaker
        return breaker

    def __iter__(self) -> Iterator[Breaker]:
        return iter(list(self._breakers.values()))

    def open_breakers(self) -> list[Breaker]:
        """Every breaker that is open now."""
        return [b for b in self._breakers.values() if b.state == OPEN]

    def readiness_check(self) -> dict[str, list[str]] | None:
        """Raise when a breaker of a ``readiness = true`` definition is open; else None."""
        down = [
            b.name if b.key is None else f"{b.name}[{b.key}]"
            for b in self.open_breakers()
            if b.name in self.readiness
        ]
        if down:
            raise RuntimeError(f"circuit breaker(s) open: {', '.join(sorted(down))}")
        return None

    def _evict(self) -> None:
        # a keyed breaker that is closed holds only counts: the oldest such goes first
        for ident, breaker in self._breakers.items():
            if ident[1] is not None and breaker.state == CLOSED:
                del self._breakers[ident]
                return

    def _changed(self, breaker: Breaker, previous: str, reason: str) -> None:
        name = _EVENT_OF_STATE[breaker.state]
        if self.events.listening[name]:
            extra = {"retry_after_s": breaker.options.open_s} if breaker.state == OPEN else {}
            self.events.emit(
                name,
                breaker=breaker.name,
                key=breaker.key,
                state=breaker.state,
                previous=previous,
                reason=reason,
                **extra,
            )

    def _rejected(self, breaker: Breaker) -> None:
        if self.events.listening["reject"]:
            self.events.emit("reject", breaker=breaker.name, key=breaker.key, state=breaker.state)
