"""``PostgresLock``: a lock table with expiry on the database's clock, and a fence table.

Advisory locks were the other choice; they live as long as a session, so they cannot express a
TTL (a holder's lock must outlive nothing and expire on its own when the holder is stuck) nor the
"keep for the skew window" release the scheduler uses. Row locks under ``ON CONFLICT … WHERE``
make each statement atomic; every expiry is computed with the server's ``now()``, so clients'
clocks never matter.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mega import Lock, import_driver

#: every this many acquisitions, rows expired for over a minute are deleted
SWEEP_EVERY = 100
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresLockOptions(BaseModel):
    """``[adapters.lock.<alias>]`` keys for ``driver = "postgres"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dsn: str = "postgresql://127.0.0.1:5432/postgres"
    #: lock rows live in <table>, fencing counters in <table>_fences (created when missing)
    table: str = "mega_locks"
    op_timeout_ms: int = Field(default=500, gt=0)
    pool_size: int = Field(default=4, gt=0)

    @field_validator("table")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError("must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)")
        return value


#: how long the boot's table setup may take (waiting for other boots' setup included)
BOOT_SETUP_S = 5.0


class PostgresLock(Lock):
    def __init__(self, *, alias: str, options: PostgresLockOptions) -> None:
        self.alias = alias
        self.options = options
        self.op_timeout_s = options.op_timeout_ms / 1000
        self._pool: Any = None
        self._acquired = 0
        t, f = options.table, f"{options.table}_fences"
        ttl = "now() + make_interval(secs => $3::float8 / 1000)"
        self._ddl = (
            f"CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, owner text NOT NULL,"
            f" token bigint NOT NULL, expires_at timestamptz NOT NULL);"
            f"CREATE TABLE IF NOT EXISTS {f} (name text PRIMARY KEY, value bigint NOT NULL)"
        )
        # The fence row is bumped even when the lock turns out to be held: tokens may skip
        # numbers, but every acquisition still gets a larger one than all before it.
        self._acquire_sql = (
            f"WITH fence AS (INSERT INTO {f} AS f (name, value) VALUES ($2, 1)"
            f" ON CONFLICT (name) DO UPDATE SET value = f.value + 1 RETURNING value)"
            f" INSERT INTO {t} AS l (key, owner, token, expires_at)"
            f" SELECT $1, $4, fence.value, {ttl} FROM fence"
            f" ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token,"
            f" expires_at = EXCLUDED.expires_at WHERE l.expires_at <= now()"
            f" RETURNING token"
        )
        self._extend_sql = (
            f"UPDATE {t} SET expires_at = {ttl}"
            f" WHERE key = $1 AND owner = $2 AND expires_at > now() RETURNING 1"
        )
        self._delete_sql = f"DELETE FROM {t} WHERE key = $1 AND owner = $2 RETURNING 1"
        self._sweep_sql = f"DELETE FROM {t} WHERE expires_at < now() - interval '1 minute'"

    async def connect(self) -> None:
        asyncpg = import_driver("asyncpg", extra="postgres", what="the postgres lock driver")
        # The table setup waits for other boots' setup (concurrent first boots race on CREATE
        # TABLE IF NOT EXISTS: an advisory lock serialises them) and may meet a busy server: it
        # runs on its own connection with BOOT_SETUP_S for each statement, where the pool's
        # lock operations keep op_timeout_ms (they must fail fast)
        conn = await asyncpg.connect(
            self.options.dsn, timeout=BOOT_SETUP_S, command_timeout=BOOT_SETUP_S
        )
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1))",
                    f"mega-locks-ddl:{self.options.table}",
                )
                await conn.execute(self._ddl)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self.options.dsn,
            min_size=1,
            max_size=self.options.pool_size,
            timeout=self.options.op_timeout_ms / 1000 * 4,
            command_timeout=self.options.op_timeout_ms / 1000,
        )

    async def health(self) -> None:
        """Readiness check: the database answers."""
        await self._pool.fetchval("SELECT 1")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _acquire(self, key: str, ttl_ms: int, fence: str, owner: str) -> int | None:
        token = await self._pool.fetchval(self._acquire_sql, key, fence, ttl_ms, owner)
        if token is not None:
            self._acquired += 1
            if self._acquired % SWEEP_EVERY == 0:
                await self._pool.execute(self._sweep_sql)
        return None if token is None else int(token)

    async def _extend(self, key: str, owner: str, ttl_ms: int) -> bool:
        return await self._pool.fetchval(self._extend_sql, key, owner, ttl_ms) is not None

    async def _release(self, key: str, owner: str, keep_ms: int) -> bool:
        if keep_ms > 0:
            return await self._pool.fetchval(self._extend_sql, key, owner, keep_ms) is not None
        return await self._pool.fetchval(self._delete_sql, key, owner) is not None
