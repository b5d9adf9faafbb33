"""The contracts of the adapter kinds the kernel declares: what a driver's adapter implements.

``[adapters.<kind>.<alias>]`` builds an adapter with a registered driver; the kernel checks at
build time that it has every member of its kind's contract, so a third-party driver missing
one fails at boot with the member named, not on first use. Plugins declare further kinds with
their own contract (``registry.adapter_kind("db", protocol=...)``).

Every adapter is also an ``Adapter`` (``connect``/``close``); a ``health()`` coroutine, when
present, is what readiness probes call.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from .adapters import Adapter
from .errors import MegaError
from .locks import Held

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


@runtime_checkable
class Cache(Adapter, Protocol):
    """``[adapters.cache.*]``: a key-value store with expiry, shared by every process when the
    driver is (redis, file) and per process when not (memory)."""

    async def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when absent or expired."""
        ...

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        """Store ``value``; ``ttl_ms`` None: the adapter's default, 0: no expiry."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl_ms: int | None = None) -> int:
        """Add ``amount`` atomically (a missing key counts from 0) and return the new value;
        ``ttl_ms`` sets the expiry when the key is created."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was there."""
        ...


def cache_count(alias: str, key: str, value: Any) -> int:
    """``value`` as the count ``Cache.incr`` adds to; anything but an integer raises
    ``cache.not_integer`` (every cache driver answers the same way)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MegaError(
            "cache.not_integer",
            f"cache {alias!r}: incr on key {key!r}, which holds {type(value).__name__} "
            f"{value!r}; incr works on keys it created or that hold an integer",
            {"alias": alias, "key": key},
            http_status=500,
        )
    return value


@runtime_checkable
class SessionStore(Adapter, Protocol):
    """``[adapters.session.*]``: where server-side HTTP sessions live (a JSON-able dict per
    session id, with expiry)."""

    async def get(self, key: str, default: Any = None) -> Any: ...

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None: ...

    async def delete(self, key: str) -> bool: ...


@runtime_checkable
class LockAdapter(Adapter, Protocol):
    """``[adapters.lock.*]``: distributed locks with fencing tokens. Drivers subclass
    ``mega.Lock`` (which implements this from three atomic backend steps)."""

    async def try_acquire(
        self, key: str, *, ttl_ms: int, fence: str | None = None
    ) -> Held | None: ...

    def hold(self, key: str, *, ttl_ms: int, fence: str | None = None, keep_ms: int = 0) -> Any:
        """``async with lock.hold(key, ttl_ms=...) as held``."""
        ...


@runtime_checkable
class LogSink(Adapter, Protocol):
    """``[adapters.log-sink.*]``: receives every log event at or above ``level``.

    ``emit`` runs on the logging call's path: it must not block or raise (queue the event and
    write it elsewhere; drop with a counter when the queue is full).
    """

    level: LogLevel

    def emit(self, event: dict[str, Any]) -> None: ...


#: the adapter kinds the kernel declares, with their contracts
KERNEL_KINDS: dict[str, tuple[type, str]] = {
    # what a driver plugin serves to any plugin; the db and jobs plugins check the rest of
    # their contract when they use the adapter
    "db": (Adapter, "a database: models, queries, migrations"),
    "bus": (Adapter, "a message bus jobs are stored on and consumed from"),
    "cache": (Cache, "key-value store with expiry"),
    "session": (SessionStore, "server-side HTTP session store"),
    "lock": (LockAdapter, "distributed locks with fencing tokens"),
    "log-sink": (LogSink, "where log events at or above a level also go"),
}
