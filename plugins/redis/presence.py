"""``RedisLink``: the ws plugin's node-to-node link over Redis pub/sub (``presence`` kind).

Pub/sub is fire-and-forget, which is all presence needs: the protocol repairs what a reconnect
loses (clocks, heartbeats, state requests). One connection publishes, one listens; redis-py
re-subscribes the listener after a reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mega import get_logger, import_driver


class RedisLinkOptions(BaseModel):
    """Keys of a presence adapter table for ``driver = "redis"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "redis://127.0.0.1:6379/0"
    timeout_ms: int = Field(default=2_000, gt=0)


class RedisLink:
    def __init__(self, *, alias: str, options: RedisLinkOptions) -> None:
        self.alias = alias
        self.options = options
        self.log = get_logger(component="presence", driver="redis", alias=alias)
        self._client: Any = None
        self._pubsub: Any = None
        self._handlers: dict[bytes, Callable[[bytes], None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        aioredis = import_driver("redis.asyncio", extra="redis", what="the redis presence link")
        timeout = self.options.timeout_ms / 1000
        self._client = aioredis.Redis.from_url(
            self.options.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        await self._client.ping()
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def health(self) -> None:
        await self._client.ping()

    async def publish(self, subject: str, data: bytes) -> None:
        await self._client.publish(subject, data)

    async def subscribe(self, subject: str, handler: Callable[[bytes], None]) -> None:
        self._handlers[subject.encode()] = handler
        await self._pubsub.subscribe(subject)
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        delay = 0.1
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server went away: redis-py reconnects on next call
                self.log.warning("presence.link_error", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            handler = self._handlers.get(message["channel"])
            if handler is not None:
                handler(message["data"])
