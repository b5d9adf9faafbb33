"""``ConnectionPool``: a fixed set of connections handed out one task at a time.

For drivers without a pool of their own (aiosqlite, or a third-party embedded engine). A lease
is a plain async context manager rather than ``@asynccontextmanager``: it sits on every query's
path and a generator-based one costs a few microseconds more per call. For the same reason the
free connections are a deque with a FIFO of waiting futures instead of an ``asyncio.Queue``
(whose put/get cost ~0.5 us per query more): a free connection is taken without awaiting, and a
released one goes straight to the longest waiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from mega import MegaLifecycleError


async def close_connection(connection: Any) -> None:
    """``connection.close()``, awaited when it returns an awaitable (aiosqlite's does)."""
    result = connection.close()
    if inspect.isawaitable(result):
        await result


class ConnectionPool:
    """``size`` connections made by ``open()``; ``acquire()`` leases a free one.

    A driver's ``connect`` builds and starts it, its ``acquire`` returns ``pool.acquire()``
    and its ``close`` closes it::

        self._pool = ConnectionPool(self._open, size, close=close_connection)
        await self._pool.start()
        ...
        async with self._pool.acquire() as conn: ...
        ...
        await self._pool.close()

    ``close(connection)`` (default: ``close_connection``, which awaits ``connection.close()``)
    is how ``close()`` and ``replace()`` dispose of one connection.
    """

    def __init__(
        self,
        open: Callable[[], Awaitable[Any]],
        size: int,
        *,
        close: Callable[[Any], Awaitable[None]] = close_connection,
    ) -> None:
        if size < 1:
            raise ValueError(f"ConnectionPool size={size}; expected at least 1")
        self._open = open
        self._close = close
        self.size = size
        self._free: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._all: list[Any] = []
        self._closed = False

    async def start(self) -> None:
        """Open the ``size`` connections; returns once every one is open. When one fails to
        open, those already open are closed and the error propagates."""
        self._closed = False
        try:
            for _ in range(self.size):
                connection = await self._open()
                self._all.append(connection)
                self._free.append(connection)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close every connection the pool opened, leased or free (a statement still running
        on a leased one fails); tasks waiting for one get ``db.not_connected``, and so does
        every ``acquire()`` after. A second call does nothing."""
        self._closed = True
        connections, self._all = self._all, []
        self._free.clear()
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(_closed())
        errors = []
        for connection in connections:
            try:
                await self._close(connection)
            except Exception as exc:  # close the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]

    @property
    def closed(self) -> bool:
        return self._closed

    async def _wait(self) -> Any:
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed to us as we were cancelled: pass it on
            raise

    def _release(self, connection: Any) -> None:
        if self._closed:
            return  # closed with the pool
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(connection)
                return
        self._free.append(connection)

    def acquire(self) -> _Lease:
        """``async with pool.acquire() as connection``: a free connection, or the next one
        released (waiters are served in arrival order)."""
        return _Lease(self)

    async def replace(self, connection: Any) -> Any:
        """Swap a broken connection for a new one (the caller holds its lease and keeps it,
        now on the new connection); the broken one is closed, its errors ignored."""
        if connection in self._all:
            self._all.remove(connection)
            with contextlib.suppress(Exception):  # broken is broken
                await self._close(connection)
        fresh = await self._open()
        self._all.append(fresh)
        return fresh

    @property
    def connections(self) -> list[Any]:
        """Every open connection, leased or free."""
        return list(self._all)

    @property
    def idle(self) -> int:
        """Connections not leased right now."""
        return len(self._free)


def _closed() -> MegaLifecycleError:
    return MegaLifecycleError(
        "db.not_connected",
        "the connection pool is closed (its db adapter was closed); connect the adapter again",
        {},
    )


class _Lease:
    __slots__ = ("_pool", "connection")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self.connection: Any = None

    async def __aenter__(self) -> Any:
        pool = self._pool
        if pool._closed:
            raise _closed()
        waiters = pool._waiters
        while waiters and waiters[0].done():  # cancelled while waiting: not in the queue
            waiters.popleft()
        # waiters first (FIFO); with none, a free connection is taken without suspending
        if pool._free and not waiters:
            self.connection = pool._free.popleft()
        else:
            self.connection = await pool._wait()
        return self.connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool._release(self.connection)
