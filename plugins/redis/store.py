"""``RedisStore``: a key/value store with TTLs on Redis, for the ``session`` and ``cache`` kinds.

Values are JSON. Unlike the lock client, this one keeps redis-py's default retries: a session
read should ride out a brief reconnect rather than log the user out. A server that stays away is
``store.unavailable`` (HTTP 503 with Retry-After, not 500); the client reconnects by itself once
it is back.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mega import MegaError, import_driver


class RedisStoreOptions(BaseModel):
    """Keys of a session or cache adapter table for ``driver = "redis"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "mega:"
    timeout_ms: int = Field(default=1_000, gt=0)
    #: TTL applied when ``set`` gets none; 0 keeps entries until deleted
    default_ttl_ms: int = Field(default=0, ge=0)


class RedisStore:
    def __init__(self, *, alias: str, options: RedisStoreOptions) -> None:
        self.alias = alias
        self.options = options
        self._client: Any = None

    async def connect(self) -> None:
        aioredis = import_driver("redis.asyncio", extra="redis", what="the redis store")
        timeout = self.options.timeout_ms / 1000
        self._client = aioredis.Redis.from_url(
            self.options.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        await self._client.ping()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def health(self) -> None:
        """Readiness check: the server answers PING."""
        await self._client.ping()

    @contextlib.contextmanager
    def _reachable(self, operation: str) -> Iterator[None]:
        """Connection failures and timeouts become ``store.unavailable`` (503)."""
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            yield
        except (ConnectionError, TimeoutError) as exc:
            raise MegaError(
                "store.unavailable",
                f"redis store {self.alias!r} ({self.options.url}) did not answer {operation}: "
                f"{exc}; it reconnects by itself when the server is back",
                {"alias": self.alias, "operation": operation, "error": repr(exc)},
                http_status=503,
            ) from exc

    async def get(self, key: str, default: Any = None) -> Any:
        with self._reachable("get"):
            raw = await self._client.get(self.options.key_prefix + key)
        return default if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        with self._reachable("set"):
            await self._client.set(
                self.options.key_prefix + key, json.dumps(value), px=ttl if ttl > 0 else None
            )

    async def incr(self, key: str, amount: int = 1, *, ttl_ms: int | None = None) -> int:
        """Add ``amount`` to the integer under ``key`` (absent: 0) and return the new value.

        Atomic on the server (``SET NX PX`` creates the key with its TTL, ``INCRBY`` adds, in
        one transaction). ``ttl_ms`` applies when the key is created: a fixed window.
        """
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        full = self.options.key_prefix + key
        with self._reachable("incr"):
            return await self._incr(key, full, amount, ttl)

    async def _incr(self, key: str, full: str, amount: int, ttl: int) -> int:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(full, 0, px=ttl if ttl > 0 else None, nx=True)
            pipe.incrby(full, amount)
            try:
                _, value = await pipe.execute()
            except Exception as exc:
                if "not an integer" not in str(exc):
                    raise
                raise MegaError(
                    "cache.not_integer",
                    f"cache {self.alias!r}: incr on key {key!r}, which does not hold an "
                    "integer; incr works on keys it created or that hold an integer",
                    {"alias": self.alias, "key": key},
                    http_status=500,
                ) from exc
        return int(value)

    async def delete(self, key: str) -> bool:
        with self._reachable("delete"):
            return bool(await self._client.delete(self.options.key_prefix + key))
