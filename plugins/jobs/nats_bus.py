"""The ``nats`` bus driver: jobs on NATS JetStream (nats-py).

Per job subject: a work stream ``<prefix>_<SUBJECT>`` (WorkQueue retention: a message is
removed when acked) and a DLQ stream ``<prefix>_<SUBJECT>_DLQ`` on ``<subject>.dlq`` (Limits
retention, ``dlq_max_age_ms``), and one durable pull consumer ``<stream>_WORKERS`` shared by every
worker. Streams are created when missing and never altered (change an existing one with the
NATS CLI); the consumer is created *or updated* on every worker start, because binding to an
existing durable would silently keep its old ``max_ack_pending`` / ``ack_wait``.

Known nats-py behaviours handled here: ``fetch`` raises a timeout instead of returning nothing;
the first publish's ``ack.duplicate`` is ``None``; a pull subscription can stop delivering
after a server restart, so consumers re-subscribe after every reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from pydantic import BaseModel, Field

from mega import MegaConfigError, MegaLifecycleError, get_logger, import_driver

from .errors import DeadLetterNotFound
from .transport import (
    ConsumerConfig,
    DeadLetter,
    Published,
    StreamLimits,
    SubjectStats,
)


class NatsOptions(BaseModel, extra="forbid"):
    """``[adapters.bus.<alias>] driver = "nats"``."""

    #: server URLs, e.g. ["nats://127.0.0.1:4222"]
    servers: list[str] = Field(default_factory=lambda: ["nats://127.0.0.1:4222"], min_length=1)
    #: the connection name the server shows in its monitoring
    name: str = "mega"
    #: stream names start with this (``MEGA_JOBS_EMAILS_SEND``)
    stream_prefix: str = Field(default="MEGA_JOBS", pattern=r"^[A-Za-z0-9_-]+$")
    connect_timeout_ms: int = Field(default=2_000, ge=1)
    #: JetStream API calls and awaited publishes fail after this long
    request_timeout_ms: int = Field(default=5_000, ge=1)
    #: wait between reconnect attempts; attempts never stop (a worker outlives server restarts)
    reconnect_wait_ms: int = Field(default=500, ge=1)
    #: at boot, how long to keep trying to reach a server before failing with
    #: bus.connect_failed (once connected, a lost server is retried for ever)
    boot_connect_ms: int = Field(default=15_000, ge=1)
    token: str | None = None
    user: str | None = None
    password: str | None = None


def _token(subject: str) -> str:
    return subject.upper().replace(".", "_").replace("-", "_")


class NatsDelivery:
    """A JetStream message as a ``Delivery`` (sequence and count read off its reply subject)."""

    __slots__ = ("delivery_count", "msg", "seq", "stored_at")

    def __init__(self, msg: Any) -> None:
        self.msg = msg
        tokens = msg.reply.split(".")
        # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>... (v1, 9 tokens) or
        # $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>... (v2)
        at = 4 if len(tokens) == 9 else 6
        self.delivery_count = int(tokens[at])
        self.seq = int(tokens[at + 1])
        #: when the stream stored the message (unix seconds)
        self.stored_at = int(tokens[at + 3]) / 1e9

    @property
    def data(self) -> bytes:
        data: bytes = self.msg.data
        return data

    @property
    def headers(self) -> dict[str, str]:
        return self.msg.headers or {}

    async def ack(self) -> None:
        await self.msg.ack()

    async def nak(self, delay_s: float | None = None) -> None:
        await self.msg.nak(delay=delay_s)

    async def in_progress(self) -> None:
        await self.msg.in_progress()


class NatsConsumer:
    """The durable pull consumer of one subject; re-subscribes after a reconnect or error."""

    def __init__(self, bus: NatsBus, config: ConsumerConfig) -> None:
        self.bus = bus
        self.config = config
        self.stream = bus.stream_name(config.subject)
        self.durable = f"{self.stream}_WORKERS"
        self._sub: Any = None
        self._generation = -1

    async def subscribe(self) -> None:
        """Create or update the durable consumer to ``config``, then bind a pull subscription."""
        api = self.bus.api
        config = self.config
        await self.bus.js.add_consumer(
            self.stream,
            api.ConsumerConfig(
                durable_name=self.durable,
                filter_subject=config.subject,
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=config.ack_wait_ms / 1000,
                max_deliver=config.max_deliver,
                max_ack_pending=config.concurrency,
            ),
        )
        await self._unsubscribe()
        self._generation = self.bus.generation
        self._sub = await self.bus.js.pull_subscribe_bind(self.durable, stream=self.stream)

    async def fetch(self, batch: int, timeout_s: float) -> list[Any]:
        if self._generation != self.bus.generation:
            await self.subscribe()  # the connection was re-established since we subscribed
        try:
            msgs = await self._sub.fetch(batch, timeout=timeout_s)
        except self.bus.timeout_errors:
            return []  # nats-py raises a timeout for "no messages"
        return [NatsDelivery(msg) for msg in msgs]

    async def reset(self) -> None:
        await self.subscribe()

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            # a dead subscription on a dead connection: nothing left to undo
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def close(self) -> None:
        await self._unsubscribe()


class NatsBus:
    """A NATS connection with JetStream, serving the jobs plugin (``JobBus``)."""

    def __init__(self, *, alias: str, options: NatsOptions) -> None:
        self.alias = alias
        self.options = options
        self.nc: Any = None
        self.js: Any = None
        self.api: Any = None
        #: bumped on every reconnect: consumers re-subscribe when it changed
        self.generation = 0
        self.log = get_logger(component="bus", driver="nats", alias=alias)
        self.timeout_errors: tuple[type[BaseException], ...] = (asyncio.TimeoutError,)

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        nats = import_driver("nats", extra="nats", what="the nats bus driver")
        nats_errors = import_driver("nats.errors", extra="nats", what="the nats bus driver")
        self.api = import_driver("nats.js.api", extra="nats", what="the nats bus driver")
        self.errors = import_driver("nats.js.errors", extra="nats", what="the nats bus driver")
        self.timeout_errors = (asyncio.TimeoutError, nats_errors.TimeoutError)
        o = self.options
        nc = nats.NATS()
        try:
            # nats-py retries a first connection for ever with unlimited reconnects: bound it,
            # so a boot (or a tool command) against a server that is down fails and says so
            async with asyncio.timeout(o.boot_connect_ms / 1000):
                await nc.connect(
                    servers=o.servers,
                    name=o.name,
                    connect_timeout=o.connect_timeout_ms / 1000,
                    reconnect_time_wait=o.reconnect_wait_ms / 1000,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    token=o.token,
                    user=o.user,
                    password=o.password,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
        except Exception as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(
                    f"no server answered within boot_connect_ms ({o.boot_connect_ms})"
                )
            raise MegaLifecycleError(
                "bus.connect_failed",
                f"[adapters.bus.{self.alias}] cannot reach NATS at {', '.join(o.servers)}: "
                f"{type(exc).__name__}: {exc}",
                {"alias": self.alias, "servers": o.servers},
            ) from exc
        self.nc = nc
        self.js = self.nc.jetstream(timeout=o.request_timeout_ms / 1000)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    async def health(self) -> dict[str, Any]:
        if self.nc is None or not self.nc.is_connected:
            raise MegaLifecycleError("bus.unhealthy", "not connected to NATS")
        await self.nc.flush(timeout=2)
        return {"server": self.nc.connected_url.netloc if self.nc.connected_url else None}

    async def _on_error(self, exc: Exception) -> None:
        self.log.warning("bus.error", error=repr(exc))

    async def _on_disconnected(self) -> None:
        self.log.warning("bus.disconnected")

    async def _on_reconnected(self) -> None:
        self.generation += 1
        url = self.nc.connected_url
        self.log.info("bus.reconnected", server=url.netloc if url else None)

    # -- streams --------------------------------------------------------------------------

    def stream_name(self, subject: str) -> str:
        return f"{self.options.stream_prefix}_{_token(subject)}"

    def dlq_stream_name(self, subject: str) -> str:
        return f"{self.stream_name(subject)}_DLQ"

    async def ensure_streams(self, subject: str, limits: StreamLimits) -> None:
        api = self.api
        window_s = limits.duplicate_window_ms / 1000
        await self._ensure_stream(
            api.StreamConfig(
                name=self.stream_name(subject),
                subjects=[subject],
                retention=api.RetentionPolicy.WORK_QUEUE,
                storage=api.StorageType.FILE,
                duplicate_window=window_s,
            )
        )
        await self._ensure_stream(
            api.StreamConfig(
                name=self.dlq_stream_name(subject),
                subjects=[f"{subject}.dlq"],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                max_age=limits.dlq_max_age_ms / 1000 if limits.dlq_max_age_ms else None,
                max_bytes=limits.dlq_max_bytes,
                duplicate_window=window_s,
            )
        )

    async def _ensure_stream(self, config: Any) -> None:
        try:
            await self.js.stream_info(config.name)
            return
        except self.errors.NotFoundError:
            pass
        try:
            await self.js.add_stream(config)
        except self.errors.BadRequestError as exc:
            # another worker created it between our check and our create: fine if it exists
            try:
                await self.js.stream_info(config.name)
            except self.errors.NotFoundError:
                raise MegaConfigError(
                    "bus.stream_rejected",
                    f"NATS refused to create stream {config.name} on {config.subjects}: {exc}",
                    {"stream": config.name, "subjects": config.subjects},
                ) from exc

    # -- publishing -----------------------------------------------------------------------

    async def publish(
        self,
        subject: str,
        data: bytes,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Published:
        if msg_id is not None:
            headers = {**(headers or {}), "Nats-Msg-Id": msg_id}
        ack = await self.js.publish(subject, data, headers=headers)
        return Published(ack.seq, ack.stream, ack.duplicate is True)

    def is_missing_stream(self, error: BaseException) -> bool:
        return isinstance(error, self.errors.NoStreamResponseError)

    async def publish_many(
        self, subject: str, items: list[bytes], headers: dict[str, str] | None = None
    ) -> list[Published]:
        publish_async = self.js.publish_async
        futures = [await publish_async(subject, data, headers=headers) for data in items]
        acks = await asyncio.gather(*futures)
        return [Published(ack.seq, ack.stream, ack.duplicate is True) for ack in acks]

    async def publish_dead_letter(self, subject: str, data: bytes) -> None:
        await self.js.publish(f"{subject}.dlq", data)

    async def consumer(self, config: ConsumerConfig) -> NatsConsumer:
        consumer = NatsConsumer(self, config)
        await consumer.subscribe()
        return consumer

    # -- operating ------------------------------------------------------------------------

    async def stats(self, subject: str) -> SubjectStats:
        stream = self.stream_name(subject)
        depth = pending = in_flight = redelivered = dlq_depth = 0
        try:
            depth = (await self.js.stream_info(stream)).state.messages
            info = await self.js.consumer_info(stream, f"{stream}_WORKERS")
            pending = info.num_pending or 0
            in_flight = info.num_ack_pending or 0
            redelivered = info.num_redelivered or 0
        except self.errors.NotFoundError:
            pass
        with contextlib.suppress(self.errors.NotFoundError):
            dlq_depth = (await self.js.stream_info(self.dlq_stream_name(subject))).state.messages
        return SubjectStats(subject, depth, pending, in_flight, redelivered, dlq_depth)

    async def dead_letters(self, subject: str, limit: int = 100) -> list[DeadLetter]:
        stream = self.dlq_stream_name(subject)
        try:
            state = (await self.js.stream_info(stream)).state
        except self.errors.NotFoundError:
            return []
        if not state.messages:
            return []  # an empty stream reports first_seq 0, which get_msg refuses (400)
        found: list[DeadLetter] = []
        for seq in range(state.first_seq, state.last_seq + 1):
            if len(found) >= limit:
                break
            try:
                msg = await self.js.get_msg(stream, seq)
            except self.errors.NotFoundError:
                continue  # deleted from the middle of the stream
            found.append(DeadLetter(seq, json.loads(msg.data)))
        return found

    async def dead_letter(self, subject: str, seq: int) -> DeadLetter:
        try:
            msg = await self.js.get_msg(self.dlq_stream_name(subject), seq)
        except self.errors.NotFoundError:
            raise DeadLetterNotFound(
                "job.dead_letter_not_found",
                f"no dead letter {seq} in the DLQ of {subject!r}",
                {"subject": subject, "seq": seq},
            ) from None
        return DeadLetter(seq, json.loads(msg.data))

    async def delete_dead_letter(self, subject: str, seq: int) -> None:
        await self.js.delete_msg(self.dlq_stream_name(subject), seq)

    async def purge_dead_letters(self, subject: str) -> int:
        stream = self.dlq_stream_name(subject)
        try:
            before = (await self.js.stream_info(stream)).state.messages
        except self.errors.NotFoundError:
            return 0
        await self.js.purge_stream(stream)
        return int(before)

    async def subjects(self) -> list[str]:
        prefix = f"{self.options.stream_prefix}_"
        found = []
        for info in await self.js.streams_info():
            name = info.config.name
            if name.startswith(prefix) and not name.endswith("_DLQ") and info.config.subjects:
                found.append(info.config.subjects[0])
        return sorted(found)

    async def delete_streams(self, subject: str) -> None:
        """Delete the work and DLQ streams of ``subject`` (tests and ``mega jobs`` tooling)."""
        for stream in (self.stream_name(subject), self.dlq_stream_name(subject)):
            with contextlib.suppress(self.errors.NotFoundError):
                await self.js.delete_stream(stream)
