"""One WebSocket connection: its identity, joined topics, rate limit and bounded send buffer.

Sending never blocks the sender. A frame goes straight to the ASGI server while the socket keeps
up (the common case: no task, no queue); once the server's transport pushes back, frames wait in
a backlog bounded in frames and bytes, drained by one task. A client whose backlog passes the
bound is disconnected with close code 4001 and never grows the node's memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from . import envelope

if TYPE_CHECKING:
    from .channel import Channel, ChannelCtx

# a coroutine function, as every ASGI server's send is: run_eagerly steps the coroutine it returns
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


def run_eagerly(coro: Coroutine[Any, Any, None]) -> Awaitable[None] | None:
    """Run ``coro`` now, up to its first suspension; None when it finished without one.

    A socket write through the ASGI server finishes without suspending unless the transport is
    paused, so a broadcast costs no task per connection. When it does suspend, the returned
    awaitable finishes it (Python 3.12's eager task factory does the same for tasks).
    Exceptions raised before the first suspension propagate to the caller.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return _resume(coro, waiting_on)


async def _resume(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    while True:
        try:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                # what a Task does with a yielded future before waiting on it: without this,
                # awaiting it again raises "await wasn't used with future"
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as exc:  # hand the wait's failure to the coroutine, as a task would
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return


class RateLimit:
    """A token bucket: ``rate`` messages a second, bursts up to ``burst``."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Joined:
    """One joined topic of a connection: the channel instance and how presence reaches it."""

    __slots__ = ("channel", "ctx", "presence")

    def __init__(self, channel: Channel, ctx: ChannelCtx, presence: str) -> None:
        self.channel = channel
        self.ctx = ctx
        self.presence = presence  # "full" | "counts" | "none"


class Connection:
    """A connected client. ``identity`` is who authenticated (None: anonymous);
    ``assigns`` is free per-connection state for channels."""

    __slots__ = (
        "_backlog",
        "_backlog_bytes",
        "_flushing",
        "_on_overflow",
        "_send",
        "assigns",
        "closed",
        "encode",
        "id",
        "identity",
        "joined",
        "limits",
        "log",
        "rate",
        "stats",
    )

    def __init__(
        self,
        conn_id: str,
        send: Send,
        *,
        identity: Any,
        log: Any,
        max_frames: int,
        max_bytes: int,
        rate: RateLimit,
        stats: Any,
        on_overflow: Callable[[Connection], None],
        encode: Callable[[str], str] | None = None,
    ) -> None:
        self.id = conn_id
        #: the socket's frame codec's encode (mega_ws_frame_codec), or None
        self.encode = encode
        self.identity = identity
        self.assigns: dict[str, Any] = {}
        self.log = log
        self.joined: dict[str, Joined] = {}
        self.rate = rate
        self.stats = stats
        self.closed = False
        self.limits = (max_frames, max_bytes)
        self._send = send
        self._backlog: deque[str] = deque()
        self._backlog_bytes = 0
        self._flushing: asyncio.Task[None] | None = None
        self._on_overflow = on_overflow

    def send_frame(self, frame: str) -> None:
        """Queue one text frame for this client; never blocks, never raises."""
        if self.closed:
            return
        if self.encode is not None:
            frame = self.encode(frame)
        if self._flushing is not None:
            self._backlog.append(frame)
            self._backlog_bytes += len(frame)
            max_frames, max_bytes = self.limits
            if len(self._backlog) > max_frames or self._backlog_bytes > max_bytes:
                self._overflow()
            return
        self.stats.frames_out += 1
        try:
            pending = run_eagerly(self._send({"type": "websocket.send", "text": frame}))
        except Exception as exc:
            self._failed(exc)
            return
        if pending is not None:
            self._flushing = asyncio.ensure_future(self._drain(pending))

    async def _drain(self, pending: Awaitable[None]) -> None:
        try:
            await pending
            while self._backlog and not self.closed:
                frame = self._backlog.popleft()
                self._backlog_bytes -= len(frame)
                self.stats.frames_out += 1
                await self._send({"type": "websocket.send", "text": frame})
        except Exception as exc:
            self._failed(exc)
        finally:
            self._flushing = None

    def _failed(self, exc: Exception) -> None:
        # OSError is the server's "client disconnected": the read loop sees it too. Anything
        # else is a bug worth a log line, not a silently dead connection.
        self.closed = True
        if not isinstance(exc, OSError):
            self.log.error("ws.send_failed", error=repr(exc))

    def _overflow(self) -> None:
        max_frames, max_bytes = self.limits
        self.log.warning(
            "ws.slow_consumer",
            backlog_frames=len(self._backlog),
            backlog_bytes=self._backlog_bytes,
            max_frames=max_frames,
            max_bytes=max_bytes,
        )
        self._backlog.clear()
        self._backlog_bytes = 0
        self.closed = True
        self._on_overflow(self)

    @property
    def backlog(self) -> tuple[int, int]:
        """Frames and bytes waiting for the socket."""
        return len(self._backlog), self._backlog_bytes

    async def close(self, code: int, reason: str, *, wait_s: float = 5.0) -> None:
        """Send a close frame after what is already queued (within ``wait_s``)."""
        self.closed = True
        flushing = self._flushing
        try:
            async with asyncio.timeout(wait_s):
                if flushing is not None:
                    await asyncio.shield(flushing)
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:  # TimeoutError included
            pass  # the client is gone or not reading: the server drops the socket

    def error(
        self, topic: str | None, ref: str | None, code: str, message: str, details: Any = None
    ) -> None:
        self.send_frame(envelope.error_reply(topic, ref, code, message, details))
