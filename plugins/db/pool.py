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
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any


class ConnectionPool:
    """``size`` connections made by ``open()``; ``acquire()`` waits for a free one."""

    def __init__(self, open: Callable[[], Awaitable[Any]], size: int) -> None:
        self._open = open
        self.size = size
        self._free: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._all: list[Any] = []

    async def start(self) -> None:
        for _ in range(self.size):
            connection = await self._open()
            self._all.append(connection)
            self._free.append(connection)

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
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(connection)
                return
        self._free.append(connection)

    def acquire(self) -> _Lease:
        return _Lease(self)

    async def replace(self, connection: Any) -> Any:
        """Swap a broken connection for a new one (the caller holds its lease)."""
        if connection in self._all:
            self._all.remove(connection)
        fresh = await self._open()
        self._all.append(fresh)
        return fresh

    @property
    def connections(self) -> list[Any]:
        return list(self._all)

    @property
    def idle(self) -> int:
        """Connections not leased right now."""
        return len(self._free)


class _Lease:
    __slots__ = ("_pool", "connection")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self.connection: Any = None

    async def __aenter__(self) -> Any:
        pool = self._pool
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
