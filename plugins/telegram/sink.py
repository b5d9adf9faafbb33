"""``TelegramLogSink``: the ``log-sink`` driver ``telegram`` — events at or above a level sent to
a Telegram chat through the Bot API's ``sendMessage``.

``emit`` only appends to a bounded queue (a full queue drops the event and counts it); a task
waits ``batch_ms`` after the first event, packs what is queued into as few messages as fit and
sends them one after another with httpx. A 429 is retried after the ``retry_after`` the API
asks for; a 5xx or a network error after a doubling backoff, ``max_retries`` times. Close sends
what is left within ``flush_timeout_ms``, and says on stderr how many events it could not send.

The token is a ``SecretStr``: it appears in no repr, error, config dump or log line. It sits in
the request path (``/bot<token>/sendMessage``), so httpx's own request log line is filtered out
while the sink sends, and the sink ignores every event logged inside its own sending (which would
otherwise feed itself).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import sys
import threading
import time
import traceback
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mega import import_driver

from .message import pack, render_event

#: set inside the sink's sending task: what is logged there is not sent again
_SENDING: contextvars.ContextVar[bool] = contextvars.ContextVar("mega_telegram", default=False)


class TelegramLogSinkOptions(BaseModel):
    """Keys of a ``[adapters.log-sink.<alias>]`` table for ``driver = "telegram"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the bot's token from @BotFather
    token: SecretStr = Field(min_length=1)
    #: a chat id (an integer, negative for groups) or a public ``@channelname``
    chat_id: int | str
    #: the lowest level sent here
    level: Literal["debug", "info", "warning", "error", "critical"] = "warning"
    #: the Bot API's address; tests point it at a local server
    base_url: str = "https://api.telegram.org"
    #: prefixed to every event (an app or environment name, say)
    title: str = Field(default="", max_length=256)
    #: how long to gather events after the first one before sending them together
    batch_ms: int = Field(default=2_000, ge=0)
    #: events waiting to be sent; past it new events are dropped (and counted)
    max_queued: int = Field(default=1_000, ge=1)
    #: at most this many messages sent per batch (the rest wait for the next batch)
    max_messages_per_batch: int = Field(default=20, ge=1)
    #: one sendMessage request
    timeout_ms: int = Field(default=10_000, gt=0)
    #: retries of a message after a 429, a 5xx or a network error
    max_retries: int = Field(default=3, ge=0)
    #: close sends what is queued within this time (and within the app's shutdown deadline)
    flush_timeout_ms: int = Field(default=5_000, gt=0)
    disable_notification: bool = False

    @field_validator("chat_id")
    @classmethod
    def _chat_id(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not (value.startswith("@") and len(value) > 1):
            raise ValueError("expected an integer chat id or a '@channelname'")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")


class _OwnRequests(logging.Filter):
    """Drops httpx's request log lines while the sink sends: their URL holds the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _SENDING.get()


class TelegramLogSink:
    def __init__(self, *, alias: str, options: TelegramLogSinkOptions) -> None:
        self.alias = alias
        self.options = options
        self.level = options.level
        #: events never sent: the queue was full, or still queued at the flush deadline
        self.dropped = 0
        #: messages the API refused, or not sent after the retries or by the flush deadline
        self.failed = 0
        #: messages the API accepted
        self.sent = 0
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._unreported_drops = 0
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._task: asyncio.Task[None] | None = None
        self._client: Any = None
        self._filter = _OwnRequests()
        self._deadline: float | None = None

    def __repr__(self) -> str:
        return (
            f"TelegramLogSink(alias={self.alias!r}, chat_id={self.options.chat_id!r}, "
            f"base_url={self.options.base_url!r})"
        )

    async def connect(self) -> None:
        httpx = import_driver("httpx", extra="telegram", what="the telegram log sink")
        self._client = httpx.AsyncClient(timeout=self.options.timeout_ms / 1000)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        logging.getLogger("httpx").addFilter(self._filter)
        self._task = asyncio.ensure_future(self._run())
        if self._queue:
            self._wake.set()

    def emit(self, event: dict[str, Any]) -> None:
        """Queue ``event``; never blocks (called from any thread)."""
        if _SENDING.get():
            return
        if len(self._queue) >= self.options.max_queued:
            self.dropped += 1
            self._unreported_drops += 1
            return
        exc_info = event.pop("exc_info", None)
        if exc_info and "exception" not in event:
            event["exception"] = _format_exception(exc_info)
        self._queue.append(event)
        if self._wake is None or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        assert self._wake is not None and self._stop is not None
        _SENDING.set(True)  # in this task's context only
        while True:
            if not self._stop.is_set():
                await self._wake.wait()
                self._wake.clear()
                # gather a batch; close cuts the wait short
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.options.batch_ms / 1000)
            if self._queue or self._unreported_drops:
                await self._send_batch()
            if self._stop.is_set() and not self._queue:
                return

    async def _send_batch(self) -> None:
        batch = list(self._queue)
        self._queue.clear()
        blocks = [render_event(event, title=self.options.title) for event in batch]
        if self._unreported_drops:
            note = f"⚠️ {self._unreported_drops} events dropped: the queue was full"
            blocks.insert(0, [note])
            self._unreported_drops = 0
        messages = pack(blocks)
        limit = self.options.max_messages_per_batch
        if len(messages) > limit:
            # one burst must not hold the chat (and earn 429s) for minutes
            self._report(f"{len(messages) - limit} messages over max_messages_per_batch dropped")
            self.failed += len(messages) - limit
            messages = messages[:limit]
        for i, text in enumerate(messages):
            if self._past_deadline():
                self._report(f"{len(messages) - i} messages not sent before the flush deadline")
                self.failed += len(messages) - i
                return
            try:
                delivered = await self._deliver(text)
            except asyncio.CancelledError:  # close ran out of time while this batch was sending
                self._report(f"{len(messages) - i} messages not sent before the flush deadline")
                self.failed += len(messages) - i
                raise
            if delivered:
                self.sent += 1
            else:
                self.failed += 1

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    async def _deliver(self, text: str) -> bool:
        """Send one message; True when the API accepted it."""
        url = f"{self.options.base_url}/bot{self.options.token.get_secret_value()}/sendMessage"
        payload: dict[str, Any] = {
            "chat_id": self.options.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "disable_notification": self.options.disable_notification,
        }
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = await self._client.post(url, json=payload)
            except Exception as exc:  # httpx.HTTPError: its text may hold the URL
                problem = f"{type(exc).__name__}: {self._redact(str(exc))}"
            else:
                if response.status_code == 200:
                    return True
                body = _json(response)
                problem = f"HTTP {response.status_code}: {body.get('description', '')}"
                if response.status_code == 429:
                    parameters = body.get("parameters")
                    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
                    retry_after = float(wait) if isinstance(wait, int | float) else 1.0
                elif response.status_code < 500:
                    self._report(f"sendMessage refused ({problem}); message dropped")
                    return False
            attempt += 1
            delay = retry_after if retry_after is not None else 0.5 * 2 ** (attempt - 1)
            late = self._deadline is not None and time.monotonic() + delay > self._deadline
            if attempt > self.options.max_retries or late:
                self._report(f"sendMessage failed ({problem}) after {attempt} attempts")
                return False
            await asyncio.sleep(delay)

    def _redact(self, text: str) -> str:
        return text.replace(self.options.token.get_secret_value(), "**********")

    def _report(self, what: str) -> None:
        # stderr, not the log: a log line would come back to this sink
        sys.stderr.write(f"telegram log sink {self.alias!r}: {self._redact(what)}\n")

    async def close(self) -> None:
        """Send what is queued within ``flush_timeout_ms``, then close the client."""
        try:
            if self._task is not None and self._stop is not None and self._wake is not None:
                await self._flush_and_stop()
        finally:  # also when the app's shutdown deadline cancels this close
            logging.getLogger("httpx").removeFilter(self._filter)
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    async def _flush_and_stop(self) -> None:
        assert self._task is not None and self._stop is not None and self._wake is not None
        timeout = self.options.flush_timeout_ms / 1000
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        try:
            # past the timeout the sender is cancelled; it counts and reports what it lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._task
        finally:
            left = len(self._queue)
            if left:
                self.dropped += left
                self._report(f"{left} events not sent before the flush deadline")
            self._queue.clear()
            self._task = None


def _format_exception(exc_info: Any) -> str:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return "".join(traceback.format_exception(exc_info))
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        return "".join(traceback.format_exception(*exc_info))
    return ""


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
