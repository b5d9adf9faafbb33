"""``SqliteLock``: a lock table in one SQLite file, shared by every process on the host.

Each operation is one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock up front,
so check-and-set is atomic across processes. Expiry uses the host's wall clock (all holders share
it). Works only on a local filesystem, not across hosts: use the redis or postgres driver there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mega import Lock, import_driver

SCHEMA = """
CREATE TABLE IF NOT EXISTS mega_locks (key TEXT PRIMARY KEY, owner TEXT NOT NULL,
                                       token INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mega_lock_fences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SqliteLockOptions(BaseModel):
    """``[adapters.lock.<alias>]`` keys for ``driver = "sqlite"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the lock file; relative paths are relative to the working directory (the project root
    #: under `mega run`)
    path: str = ".mega/locks.sqlite3"
    #: how long an operation may wait for another process's write lock
    op_timeout_ms: int = Field(default=500, gt=0)


#: every this many acquisitions, rows expired for over a minute are deleted (per-fire schedule keys
#: would otherwise pile up)
SWEEP_EVERY = 100


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqliteLock(Lock):
    def __init__(self, *, alias: str, options: SqliteLockOptions) -> None:
        self.alias = alias
        self.options = options
        self.op_timeout_s = options.op_timeout_ms / 1000 * 2
        self._db: Any = None
        self._acquired = 0
        # one connection holds one transaction at a time: without this, two holds extended in
        # the same tick (a fire's lock and its schedule's running lease) failed the second
        # BEGIN with "cannot start a transaction within a transaction"
        self._serial = asyncio.Lock()

    async def connect(self) -> None:
        aiosqlite = import_driver("aiosqlite", extra="sqlite", what="the sqlite lock driver")
        path = Path(self.options.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(
            path, timeout=self.options.op_timeout_ms / 1000, isolation_level=None
        )
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.executescript(SCHEMA)

    async def health(self) -> None:
        """Readiness check: the lock file answers."""
        async with self._db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _write(self, statements: Any) -> Any:
        async with self._serial:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                result = await statements(self._db)
            except BaseException:
                # also when a timeout cancelled us during BEGIN: aiosqlite runs requests in
                # order, so this ROLLBACK follows a BEGIN that still went through
                with contextlib.suppress(Exception):
                    await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            return result

    async def _acquire(self, key: str, ttl_ms: int, fence: str, owner: str) -> int | None:
        async def run(db: Any) -> int | None:
            now = _now_ms()
            async with db.execute("SELECT expires_at FROM mega_locks WHERE key = ?", (key,)) as c:
                row = await c.fetchone()
            if row is not None and row[0] > now:
                return None
            async with db.execute(
                "INSERT INTO mega_lock_fences (name, value) VALUES (?, 1) ON CONFLICT (name)"
                " DO UPDATE SET value = value + 1 RETURNING value",
                (fence,),
            ) as c:
                (token,) = await c.fetchone()
            await db.execute(
                "INSERT INTO mega_locks (key, owner, token, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = excluded.token,"
                " expires_at = excluded.expires_at",
                (key, owner, token, now + ttl_ms),
            )
            self._acquired += 1
            if self._acquired % SWEEP_EVERY == 0:
                await db.execute("DELETE FROM mega_locks WHERE expires_at < ?", (now - 60_000,))
            return int(token)

        token: int | None = await self._write(run)
        return token

    async def _extend(self, key: str, owner: str, ttl_ms: int) -> bool:
        async def run(db: Any) -> bool:
            now = _now_ms()
            cursor = await db.execute(
                "UPDATE mega_locks SET expires_at = ? WHERE key = ? AND owner = ?"
                " AND expires_at > ?",
                (now + ttl_ms, key, owner, now),
            )
            return bool(cursor.rowcount == 1)

        return bool(await self._write(run))

    async def _release(self, key: str, owner: str, keep_ms: int) -> bool:
        async def run(db: Any) -> bool:
            if keep_ms > 0:
                cursor = await db.execute(
                    "UPDATE mega_locks SET expires_at = ? WHERE key = ? AND owner = ?",
                    (_now_ms() + keep_ms, key, owner),
                )
            else:
                cursor = await db.execute(
                    "DELETE FROM mega_locks WHERE key = ? AND owner = ?", (key, owner)
                )
            return bool(cursor.rowcount == 1)

        return bool(await self._write(run))
