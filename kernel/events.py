"""A fixed set of named events a plugin emits, for metrics, tracing and users' listeners.

Subscribing to a name outside the set is an error (a typo must not make a listener that never
fires). A listener that raises is logged and never changes what the emitter does next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from .errors import MegaConfigError
from .log import get_logger


class Event:
    """One emitted event: ``name`` plus its fields as attributes (``event.reason``)."""

    __slots__ = ("data", "name")

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data

    def __getattr__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise AttributeError(f"event {self.name!r} has no field {key!r}") from None

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {self.data!r})"


class Listener(Protocol):
    """What ``events.on(name, listener)`` takes: a function of the emitted ``Event``."""

    def __call__(self, event: Event, /) -> Any: ...


class Events:
    """The events of one emitter (``scheduler.events``, ``jobs.events``)."""

    def __init__(self, owner: str, names: Iterable[str]) -> None:
        self.owner = owner
        self.names = frozenset(names)
        #: name -> its listeners; hot paths check ``if events.listening[name]:`` before
        #: building an event nobody listens to
        self.listening: dict[str, list[Listener]] = {n: [] for n in self.names}
        self._log = get_logger(component=owner)

    def on(self, name: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every ``name`` event; returns an unsubscribe function."""
        if name not in self.names:
            raise MegaConfigError(
                "events.unknown",
                f"{self.owner} has no event {name!r}; its events are "
                f"{', '.join(sorted(self.names))}",
                {"owner": self.owner, "event": name, "known": sorted(self.names)},
            )
        self.listening[name].append(listener)
        return lambda: self.listening[name].remove(listener)

    def attach(
        self, listeners: Mapping[str, Listener], *, source: str | None = None
    ) -> Callable[[], None]:
        """``on`` for each ``name: listener`` (a hook's result); returns one function that
        unsubscribes them all. An unknown name fails before any is subscribed, naming
        ``source`` (the plugin whose hook returned them) when given."""
        for name in listeners:
            if name not in self.names:
                raise MegaConfigError(
                    "events.unknown",
                    f"{source or 'a listener'} listens to {name!r}, which {self.owner} does not "
                    f"emit; its events are {', '.join(sorted(self.names))}",
                    {"owner": self.owner, "event": name, "known": sorted(self.names),
                     "source": source},
                )  # fmt: skip
        removers = [self.on(name, listener) for name, listener in listeners.items()]

        def detach() -> None:
            for remove in removers:
                remove()

        return detach

    def emit(self, name: str, **data: Any) -> Event:
        event = Event(name, data)
        for listener in self.listening[name]:
            try:
                listener(event)
            except Exception as exc:
                self._log.error("event.listener_failed", event_name=name, error=repr(exc))
        return event
