"""``FileLogSink``: the ``log-sink`` driver ``file`` — events at or above a level, appended as
JSON lines to a file of their own (errors for the on-call, say, apart from the full stream).

``emit`` only queues; a task appends the queue to the file every ``flush_ms`` in a worker
thread, so a slow disk never stalls the event loop. A full queue drops the oldest lines and
says how many in the next line it writes; close writes what is left.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


class FileLogSinkOptions(BaseModel):
    """Keys of a ``[adapters.log-sink.<alias>]`` table for ``driver = "file"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = ".mega/logs/errors.jsonl"
    #: the lowest level sent here
    level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    flush_ms: int = Field(default=200, ge=10)
    #: lines waiting for the writer; past it the oldest are dropped (and counted)
    max_queued: int = Field(default=10_000, ge=1)


class FileLogSink:
    def __init__(self, *, alias: str, options: FileLogSinkOptions) -> None:
        self.alias = alias
        self.options = options
        self.level = options.level
        self.path = Path(options.path)
        self._queue: collections.deque[bytes] = collections.deque(maxlen=options.max_queued)
        self._dropped = 0
        self._writer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        self._writer = asyncio.ensure_future(self._write_loop())

    def emit(self, event: dict[str, Any]) -> None:
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
        self._queue.append(orjson.dumps(event, default=repr) + b"\n")

    async def _write_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.flush_ms / 1000)
            await self.flush()

    async def flush(self) -> None:
        """Append what is queued now."""
        if not self._queue and not self._dropped:
            return
        lines = list(self._queue)
        self._queue.clear()
        if self._dropped:
            note = {"event": "log_sink.dropped", "lines": self._dropped, "level": "warning"}
            lines.insert(0, orjson.dumps(note) + b"\n")
            self._dropped = 0
        await asyncio.to_thread(self._append, b"".join(lines))

    def _append(self, data: bytes) -> None:
        with self.path.open("ab") as file:
            file.write(data)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await self.flush()
