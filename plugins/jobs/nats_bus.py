"""The ``nats`` bus driver: jobs on NATS JetStream (nats-py).

Per job subject: a work stream ``<prefix>_<SUBJECT>`` (WorkQueue retention: a message is
removed when acked) and a DLQ stream ``<prefix>_<SUBJECT>_DLQ`` on ``<subject>.dlq`` (Limits
retention, ``dlq_max_age_ms``), and one durable pull consumer ``<stream>_WORKERS`` shared by every
worker. Streams are created when missing and never altered (change an existing one with the
NATS CLI); the consumer is created *or updated* on every worker start, because binding to an
existing durable would silently keep its old ``max_ack_pending`` / ``ack_wait``. Streams have
``replicas`` copies on a cluster; every message carries a ``Nats-Msg-Id`` so that a publish lost
in a failover (a dead server, a leader election) is tried again without being stored twice
(docs/plugins/jobs.md, "Running on a NATS cluster").

Known nats-py behaviours handled here: ``fetch`` raises a timeout instead of returning nothing;
the first publish's ``ack.duplicate`` is ``None``; a pull subscription can stop delivering
after a server restart, so consumers re-subscribe after every reconnect; an async publish's
future never times out (a reply lost with its server would wait for ever), so ``publish_many``
bounds each round; the default ping interval (2 minutes) would notice a vanished server only
after 6, so ``ping_interval_ms`` replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
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
    #: replicas of the work and DLQ streams created (1: one server; 3 or 5 on a cluster)
    replicas: int = Field(default=1, ge=1, le=5)
    #: a publish no server confirmed (no stream leader during an election, a lost server) is
    #: tried again, with the same Nats-Msg-Id, until this long after its first try
    publish_retry_ms: int = Field(default=15_000, ge=0)
    #: the client pings its server this often; two unanswered pings and it moves to another
    #: (a server that vanished without closing its sockets — a power cut — is left in ~3 of these)
    ping_interval_ms: int = Field(default=2_000, ge=100)
    token: str | None = None
    user: str | None = None
    password: str | None = None


#: JetStream's deduplication header: every publish carries one, so a try repeated after a lost
#: answer is stored once (within the stream's duplicate window)
MSG_ID = "Nats-Msg-Id"


def _token(subject: str) -> str:
    return subject.upper().replace(".", "_").replace("-", "_")


class _Tries:
    """The tries of one publish: which failures are tried again, and for how long.

    Tried again, with the same ``Nats-Msg-Id``: no answer within ``request_timeout_ms`` (it may
    have been stored: the id makes a second store a duplicate), no responder (the stream has no
    leader during an election: nothing was stored), JetStream unavailable (503), and nats-py's
    reconnect buffer being full. Others are raised at once, as is "no responder" when the stream
    does not exist (the queue re-creates it). Past ``publish_retry_ms`` a ``TimeoutError`` says
    whether the message may have been stored.
    """

    __slots__ = ("bus", "count", "probed", "started", "stream", "subject", "unconfirmed", "what")

    def __init__(self, bus: NatsBus, subject: str, stream: str, what: str) -> None:
        self.bus = bus
        self.subject = subject
        self.stream = stream
        self.what = what
        self.started = time.monotonic()
        self.count = 0
        self.probed = False
        self.unconfirmed = False

    async def again(self, error: BaseException | None) -> None:
        """Return when the next try may start; raise when ``error`` is final."""
        bus = self.bus
        self.count += 1
        delay = 0.0
        if isinstance(error, TimeoutError):
            self.unconfirmed = True
        elif isinstance(error, bus.errors.NoStreamResponseError):
            if not self.probed:
                self.probed = True
                if await bus._stream_missing(self.stream):
                    raise error
            delay = min(0.5, 0.025 * 2**self.count) * random.uniform(0.5, 1.0)
        elif isinstance(error, bus.retry_errors):
            delay = min(0.5, 0.025 * 2**self.count) * random.uniform(0.5, 1.0)
        else:
            raise error if error is not None else AssertionError("no error to try again on")
        budget_ms = bus.options.publish_retry_ms
        if (time.monotonic() - self.started) * 1000 + delay * 1000 > budget_ms:
            stored = (
                f"it may have been stored ({self.what}): enqueue it again with the same msg_id "
                "to be sure"
                if self.unconfirmed
                else "it was not stored"
            )
            raise TimeoutError(
                f"[adapters.bus.{bus.alias}] no NATS server confirmed the publish on "
                f"{self.subject!r} within publish_retry_ms ({budget_ms}): {self.count} tries, the "
                f"last failing with {type(error).__name__}: {error}; {stored}"
            ) from error
        if delay:
            await asyncio.sleep(delay)
        if self.count == 1:
            bus.log.warning("bus.publish_retrying", subject=self.subject, error=repr(error))


class NatsDelivery:
    """A JetStream message as a ``Delivery`` (sequence and count read off its reply subject)."""

    __slots__ = ("_tokens", "delivery_count", "msg", "seq")

    def __init__(self, msg: Any) -> None:
        self.msg = msg
        tokens = msg.reply.split(".")
        # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>... (v1, 9 tokens) or
        # $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>... (v2)
        at = 4 if len(tokens) == 9 else 6
        self.delivery_count = int(tokens[at])
        self.seq = int(tokens[at + 1])
        self._tokens = tokens, at

    @property
    def stored_at(self) -> float:
        """When the stream stored the message (unix seconds); read only by ``start`` listeners."""
        tokens, at = self._tokens
        return int(tokens[at + 3]) / 1e9

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
        #: failures a publish is tried again on, besides timeouts and "no responders"
        self.retry_errors: tuple[type[BaseException], ...] = ()
        self._id_prefix = f"mega-{os.urandom(6).hex()}-"
        self._published = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        nats = import_driver("nats", extra="nats", what="the nats bus driver")
        nats_errors = import_driver("nats.errors", extra="nats", what="the nats bus driver")
        self.api = import_driver("nats.js.api", extra="nats", what="the nats bus driver")
        self.errors = import_driver("nats.js.errors", extra="nats", what="the nats bus driver")
        self.timeout_errors = (asyncio.TimeoutError, nats_errors.TimeoutError)
        self.retry_errors = (
            self.errors.ServiceUnavailableError,
            nats_errors.OutboundBufferLimitError,
        )
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
                    ping_interval=o.ping_interval_ms / 1000,
                    max_outstanding_pings=2,
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
            try:
                await self.nc.close()
            except OSError as exc:
                # closed while reconnecting, nats-py writes what it buffered to the dead
                # connection and raises: those publishes' callers get their own errors
                self.log.warning("bus.closed_unsent", error=repr(exc))

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
                num_replicas=self.options.replicas,
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
                num_replicas=self.options.replicas,
            )
        )

    async def _stream_missing(self, stream: str) -> bool:
        """Whether the server says ``stream`` does not exist (not: it cannot say right now)."""
        try:
            async with asyncio.timeout(1.0):
                await self.js.stream_info(stream)
        except self.errors.NotFoundError:
            return True
        except Exception:  # no leader to answer (an election): it exists as far as we know
            return False
        return False

    async def _ensure_stream(self, config: Any) -> None:
        try:
            info = await self.js.stream_info(config.name)
        except self.errors.NotFoundError:
            pass
        else:
            if (info.config.num_replicas or 1) != config.num_replicas:
                self.log.warning(
                    "bus.stream_replicas_differ",
                    stream=config.name,
                    replicas=info.config.num_replicas,
                    configured=config.num_replicas,
                    hint="streams are never altered: `nats stream edit` changes its replicas",
                )
            return
        try:
            await self.js.add_stream(config)
        except self.errors.APIError as exc:
            # another worker created it between our check and our create: fine if it exists
            try:
                await self.js.stream_info(config.name)
            except self.errors.NotFoundError:
                hint = (
                    f" (replicas = {config.num_replicas} needs that many JetStream servers up in "
                    "one cluster)"
                    if config.num_replicas > 1
                    else ""
                )
                raise MegaConfigError(
                    "bus.stream_rejected",
                    f"NATS refused to create stream {config.name} on {config.subjects}: "
                    f"{exc}{hint}",
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
        own = msg_id is None
        headers = {**(headers or {}), MSG_ID: msg_id or self._msg_id()}
        ack = await self._publish(subject, self.stream_name(subject), data, headers)
        # with our own id, a duplicate is an earlier try of this very call that was stored
        return Published(ack.seq, ack.stream, ack.duplicate is True and not own)

    def is_missing_stream(self, error: BaseException) -> bool:
        return isinstance(error, self.errors.NoStreamResponseError)

    async def publish_many(
        self, subject: str, items: list[bytes], headers: dict[str, str] | None = None
    ) -> list[Published]:
        base = headers or {}
        each = [{**base, MSG_ID: self._msg_id()} for _ in items]
        acks: dict[int, Any] = {}
        tries = _Tries(self, subject, self.stream_name(subject), f"{len(items)} messages")
        todo: list[int] = list(range(len(items)))
        while todo:
            todo, error = await self._try_many(subject, items, each, todo, acks)
            if todo:
                await tries.again(error)
        return [
            Published(ack.seq, ack.stream, False) for ack in (acks[i] for i in range(len(items)))
        ]

    async def publish_dead_letter(self, subject: str, data: bytes) -> None:
        dlq = f"{subject}.dlq"
        await self._publish(dlq, self.dlq_stream_name(subject), data, {MSG_ID: self._msg_id()})

    def _msg_id(self) -> str:
        self._published += 1
        return f"{self._id_prefix}{self._published}"

    async def _publish(
        self, subject: str, stream: str, data: bytes, headers: dict[str, str]
    ) -> Any:
        """``js.publish`` tried again on the failures a failover causes (``_Tries``)."""
        tries: _Tries | None = None
        while True:
            try:
                return await self.js.publish(subject, data, headers=headers)
            except Exception as exc:
                tries = tries or _Tries(self, subject, stream, headers[MSG_ID])
                await tries.again(exc)

    async def _try_many(
        self,
        subject: str,
        items: list[bytes],
        each: list[dict[str, str]],
        todo: list[int],
        acks: dict[int, Any],
    ) -> tuple[list[int], BaseException | None]:
        """One pipelined round over ``todo``: fills ``acks``, returns what to try again.

        nats-py never times out an async publish (its future waits for ever when the reply is
        lost with a server), so the round has its own deadline and cancels what is left.
        """
        publish_async = self.js.publish_async
        futures: dict[int, asyncio.Future[Any]] = {}
        errors: list[BaseException] = []
        scope = asyncio.timeout(self.options.request_timeout_ms / 1000)
        try:
            async with scope:
                for i in todo:
                    futures[i] = await publish_async(subject, items[i], headers=each[i])
                if futures:
                    await asyncio.wait(futures.values())
        except Exception as exc:
            if not scope.expired():  # the client refused a publish outright (closed, too big)
                for future in futures.values():
                    future.cancel()
                raise
            # (nats-py turns a cancelled wait for its publish window into TooManyStalledMsgsError)
            errors.append(exc if isinstance(exc, TimeoutError) else TimeoutError(repr(exc)))
        again = [i for i in todo if i not in futures]
        for i, future in futures.items():
            if not future.done() or future.cancelled():
                future.cancel()  # releases its slot of nats-py's publish window
                again.append(i)
            elif (error := future.exception()) is not None:
                errors.append(error)
                again.append(i)
            else:
                acks[i] = future.result()
        if again and not errors:
            errors.append(TimeoutError("no acknowledgement"))
        # a failure that is not a timeout says more (and may be final): report it first
        errors.sort(key=lambda error: isinstance(error, TimeoutError))
        return sorted(again), errors[0] if errors else None

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
