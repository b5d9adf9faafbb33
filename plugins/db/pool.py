"""``ConnectionPool``: a fixed set of connections handed out one task at a time.

For drivers without a pool of their own (aiosqlite, or a third-party embedded engine). A lease
is a plain async context manager rather than ``@asynccontextmanager``: it sits on every query's
path and a generator-based one costs a few microseconds more per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any


class ConnectionPool:
    """``size`` connections made by ``open()``; ``acquire()`` waits for a free one."""

    def __init__(self, open: Callable[[], Awaitable[Any]], size: int) -> None:
        self._open = open
        self.size = size
        self._free: asyncio.Queue[Any] = asyncio.Queue()
        self._all: list[Any] = []

    async def start(self) -> None:
        for _ in range(self.size):
            connection = await self._open()
            self._all.append(connection)
            self._free.put_nowait(connection)

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
        return self._free.qsize()


class _Lease:
    __slots__ = ("_pool", "connection")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self.connection: Any = None

    async def __aenter__(self) -> Any:
        free = self._pool._free
        self.connection = free.get_nowait() if not free.empty() else await free.get()
        return self.connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool._free.put_nowait(self.connection)
