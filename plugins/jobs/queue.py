"""``JobQueue``: enqueue jobs and run deliveries with retries, a run timeout and DLQ routing.

One queue per bus alias. The rules, both drivers alike:

- A delivery is decoded, then run with in-process retries (``Job.retries``, ``Job.backoff``);
  the whole run races the job's timeout. Success → ack → ``done``.
- A run that fails (or times out) goes to the DLQ stream ``<subject>.dlq`` in an envelope
  ``{original_subject, failed_at, delivery_count, error: {name, message, stack}, payload}``;
  only once the DLQ confirmed it is the message acked → ``dlq``.
- The DLQ publish is retried twice (250 ms → 1 s). If it still fails the message is nak'd with a
  delay of ``min(30 s, 1 s · 2^(n-1))`` (n = delivery count): kept, retried later, no hot loop.
  On the last delivery (``max_deliver``) a nak would never be redelivered, so the message is left
  un-acked in the work stream and ``fail(phase="dlq-orphan")`` asks for an operator.
- A finished run always acks (done, or safely in the DLQ), so a redelivered message is one whose
  earlier deliveries never finished: its worker died, its lease lapsed, or it was handed back.
  On its last delivery (``max_deliver`` > 1) it is not run again — a job that kills its worker
  would die there too, and JetStream then neither redelivers nor removes it — but failed
  straight to the DLQ: ``fail(phase="max-deliver")`` with ``JobDeliveriesExhaustedError``.
- A timed-out run is not cancelled (it may be mid-write); it is abandoned, its slot freed, and a
  later failure of it is reported as ``fail(phase="abandoned-run")``.

So a message is never acked unless its job finished or it is safely in the DLQ.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
import traceback
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from mega import Events, MegaConfigError, get_logger, reset_log_context, set_log_context

from .errors import JobDeliveriesExhaustedError, JobError, JobPayloadError, JobTimeoutError
from .job import Job
from .retry import DLQ_PUBLISH_RETRY, with_retry
from .transport import ConsumerConfig, Delivery, JobBus, Published, StreamLimits

EVENTS = ("dispatch", "start", "done", "retry", "fail", "dlq")
FAIL_PHASES = (
    "run",
    "decode",
    "dlq-publish",
    "dlq-orphan",
    "max-deliver",
    "consume-loop",
    "abandoned-run",
)
DEFAULT_ACK_WAIT_MS = 30_000
DEFAULT_MAX_DELIVER = 5
DEFAULT_RUN_TIMEOUT_MS = 30 * 60 * 1000
DEFAULT_DLQ_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000
DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 1000
NAK_DELAY_MAX_MS = 30_000
DLQ_MAX_STACK_LEN = 4000

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _loads(data: bytes) -> Any:
    """A payload from its JSON: orjson (a few times faster), and the standard library for what
    orjson refuses but ``encode`` writes (NaN, Infinity, integers past 64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


#: run timeouts are checked in steps of this many seconds: one timer per step, shared by every
#: run whose deadline falls in it, instead of a timer made and cancelled per run
DEADLINE_STEP_S = 0.05


def encode(payload: Any, *, what: str) -> bytes:
    """A payload as compact UTF-8 JSON; not encodable → ``job.invalid_payload`` naming ``what``."""
    try:
        return _dumps(payload).encode()
    except (TypeError, ValueError) as exc:
        raise JobPayloadError(
            "job.invalid_payload",
            f"{what}: the payload must be JSON-encodable (dict, list, str, int, float, bool, "
            f"None): {exc}",
            {"payload_type": type(payload).__name__},
        ) from None


def nak_delay_ms(delivery_count: int) -> int:
    """How long a message whose DLQ publish failed waits before its next delivery."""
    # int(): a non-literal exponent may be negative, so typeshed types int ** int as Any
    return min(NAK_DELAY_MAX_MS, int(1000 * 2 ** (delivery_count - 1)))


def default_heartbeat_ms(ack_wait_ms: int) -> int:
    return max(1000, ack_wait_ms // 2)


def _error_dict(error: BaseException) -> dict[str, str]:
    stack = "".join(traceback.format_exception(error))
    if len(stack) > DLQ_MAX_STACK_LEN:
        stack = stack[:DLQ_MAX_STACK_LEN] + "…(truncated)"
    return {"name": type(error).__name__, "message": str(error), "stack": stack}


def _check_int(name: str, value: Any, minimum: int, rule: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MegaConfigError(
            f"jobs.invalid_{name.removesuffix('_ms')}",
            f"JobQueue: {name} must be {rule}, got {value!r}",
            {name: value},
        )
    return value


class JobTracing(Protocol):
    """Trace propagation through messages (the tracing plugin provides one)."""

    def inject(self) -> dict[str, str] | None:
        """Headers carrying the current trace context into a message being enqueued."""
        ...

    def run(self, subject: str, delivery: Delivery) -> AbstractContextManager[Any]:
        """A span around handling ``delivery``, continuing the trace its headers carry."""
        ...


class _Run:
    """One delivery being worked on: the deadline step it is filed under, and whether its
    timeout won."""

    __slots__ = ("step", "timed_out")

    def __init__(self) -> None:
        self.step: int | None = None
        self.timed_out = False


class _Deadlines:
    """Run timeouts in steps of ``DEADLINE_STEP_S``: one loop timer per step holds every run
    due in it, and a run that ends first leaves its step (so nothing outlives its run)."""

    __slots__ = ("_loop", "_steps")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._steps: dict[int, dict[_Run, Callable[[], None]]] = {}

    def add(self, run: _Run, delay_s: float, on_timeout: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        step = math.ceil((loop.time() + delay_s) / DEADLINE_STEP_S)
        due = self._steps.get(step)
        if due is None:
            due = self._steps[step] = {}
            loop.call_at(step * DEADLINE_STEP_S, self._fire, step)
        due[run] = on_timeout
        run.step = step

    def end(self, run: _Run) -> None:
        """The run is over: its deadline no longer matters."""
        if run.step is not None:
            due = self._steps.get(run.step)
            if due is not None:
                due.pop(run, None)
            run.step = None

    def _fire(self, step: int) -> None:
        for run, on_timeout in self._steps.pop(step, {}).items():
            run.step = None
            on_timeout()


class JobQueue:
    """The jobs of one bus: ``enqueue`` and the handling of deliveries.

    ``heartbeat_ms`` (default ``max(1000, ack_wait_ms / 2)``) must be a positive integer below
    ``ack_wait_ms``: a slower heartbeat lets the lease lapse mid-run (a duplicate delivery), and
    0 would flood the server. ``run_timeout_ms`` is the default bound on a job's whole run (its
    own ``timeout_ms`` wins); 0 = unlimited. ``dlq_max_age_ms`` 0 keeps dead letters forever.
    """

    def __init__(
        self,
        bus: JobBus,
        *,
        ack_wait_ms: int = DEFAULT_ACK_WAIT_MS,
        max_deliver: int = DEFAULT_MAX_DELIVER,
        heartbeat_ms: int | None = None,
        run_timeout_ms: int = DEFAULT_RUN_TIMEOUT_MS,
        dlq_max_age_ms: int = DEFAULT_DLQ_MAX_AGE_MS,
        dlq_max_bytes: int | None = None,
        duplicate_window_ms: int = DEFAULT_DUPLICATE_WINDOW_MS,
        events: Events | None = None,
        tracing: JobTracing | None = None,
    ) -> None:
        self.bus = bus
        self.ack_wait_ms = _check_int("ack_wait_ms", ack_wait_ms, 1, "an integer >= 1")
        self.max_deliver = _check_int("max_deliver", max_deliver, 1, "an integer >= 1")
        if heartbeat_ms is None:
            heartbeat_ms = default_heartbeat_ms(ack_wait_ms)
        if (
            isinstance(heartbeat_ms, bool)
            or not isinstance(heartbeat_ms, int)
            or not 1 <= heartbeat_ms < ack_wait_ms
        ):
            raise MegaConfigError(
                "jobs.invalid_heartbeat",
                f"JobQueue: heartbeat_ms must be a positive integer below ack_wait_ms "
                f"({ack_wait_ms}), got {heartbeat_ms!r}",
                {"heartbeat_ms": heartbeat_ms, "ack_wait_ms": ack_wait_ms},
            )
        self.heartbeat_ms = heartbeat_ms
        self.run_timeout_ms = _check_int(
            "run_timeout_ms", run_timeout_ms, 0, "an integer >= 0 (0 = unlimited)"
        )
        self.limits = StreamLimits(
            _check_int("dlq_max_age_ms", dlq_max_age_ms, 0, "an integer >= 0 (0 = forever)"),
            None
            if dlq_max_bytes is None
            else _check_int("dlq_max_bytes", dlq_max_bytes, 1, "an integer >= 1 or unset"),
            _check_int("duplicate_window_ms", duplicate_window_ms, 1, "an integer >= 1"),
        )
        #: propagates trace context enqueue → run (None: no tracing, no cost)
        self.tracing = tracing
        #: subscribe with ``queue.events.on("fail", listener)``
        self.events = events or Events("jobs", EVENTS)
        self._emit = self.events.emit
        self._listeners = self.events.listening
        self.log = get_logger(component="jobs", bus=bus.alias)
        self._ready: set[str] = set()
        self._ensuring: dict[str, asyncio.Future[None]] = {}
        self._deadlines = _Deadlines()
        #: DLQ routings started by timeouts, and runs a timeout abandoned
        self._background: set[asyncio.Task[Any]] = set()

    # -- producing --------------------------------------------------------------------------

    async def ensure(self, subject: str) -> None:
        """Create ``subject``'s work and DLQ streams once; concurrent first calls share one
        check, and a failed check is forgotten so the next call tries again."""
        if subject in self._ready:
            return
        pending = self._ensuring.get(subject)
        if pending is None:
            pending = asyncio.ensure_future(self.bus.ensure_streams(subject, self.limits))
            self._ensuring[subject] = pending
        try:
            await asyncio.shield(pending)
        except BaseException:
            if self._ensuring.get(subject) is pending and pending.done():
                del self._ensuring[subject]
            raise
        self._ready.add(subject)

    def forget(self, subject: str) -> None:
        """Check ``subject``'s streams again on next use (after the server lost them)."""
        self._ready.discard(subject)
        pending = self._ensuring.get(subject)
        if pending is not None and pending.done():
            del self._ensuring[subject]

    async def enqueue(self, job: type[Job], payload: Any, msg_id: str | None = None) -> Published:
        """Store one message for ``job``; returns ``Published(seq, stream, duplicate)``.

        ``msg_id`` is a deduplication key: within the bus's duplicate window (2 minutes by
        default) a second message with the same key is not stored, and ``duplicate`` is True.
        """
        subject = subject_of(job)
        if msg_id is not None and (not isinstance(msg_id, str) or not msg_id):
            raise JobPayloadError(
                "job.invalid_msg_id",
                f"enqueue({job.__name__}): msg_id must be a non-empty string or None, "
                f"got {msg_id!r}",
                {"job": job.__name__},
            )
        if subject not in self._ready:
            await self.ensure(subject)
        data = encode(payload, what=f"enqueue({job.__name__})")
        headers = None if self.tracing is None else self.tracing.inject()
        try:
            published = await self.bus.publish(subject, data, msg_id, headers)
        except Exception as exc:
            if not self.bus.is_missing_stream(exc):
                raise
            # the server lost the stream since we checked (restarted without its store)
            self.forget(subject)
            await self.ensure(subject)
            published = await self.bus.publish(subject, data, msg_id, headers)
        if self._listeners["dispatch"]:
            self._emit(
                "dispatch",
                subject=subject,
                seq=published.seq,
                stream=published.stream,
                duplicate=published.duplicate,
            )
        return published

    async def enqueue_many(self, job: type[Job], payloads: Iterable[Any]) -> list[Published]:
        """Store many messages for ``job``, pipelined; returns once every one is stored."""
        subject = subject_of(job)
        what = f"enqueue_many({job.__name__})"
        items = [encode(payload, what=what) for payload in payloads]
        if subject not in self._ready:
            await self.ensure(subject)
        headers = None if self.tracing is None else self.tracing.inject()
        published = await self.bus.publish_many(subject, items, headers)
        if self._listeners["dispatch"]:
            for one in published:
                self._emit("dispatch", subject=subject, seq=one.seq, stream=one.stream,
                           duplicate=one.duplicate)  # fmt: skip
        return published

    # -- consuming --------------------------------------------------------------------------

    def consumer_config(self, job: type[Job], concurrency: int | None = None) -> ConsumerConfig:
        return ConsumerConfig(
            subject_of(job), concurrency or job.concurrency, self.ack_wait_ms, self.max_deliver
        )

    def timeout_ms(self, job: type[Job]) -> int:
        return self.run_timeout_ms if job.timeout_ms is None else job.timeout_ms

    async def handle(
        self,
        job: Job,
        delivery: Delivery,
        make_ctx: Callable[[Delivery], Any],
        release: Callable[[Delivery], None],
    ) -> None:
        """Run one delivery to its end (ack, DLQ, nak or orphan); never raises.

        ``release(delivery)`` frees the delivery's slot: when the handling ends, or earlier,
        when the run timed out and was abandoned.
        """
        # every line written during the run carries the job's subject and message
        log_token = set_log_context({"job": type(job).subject, "seq": delivery.seq})
        try:
            if self.tracing is None:
                await self._handle(job, delivery, make_ctx, release)
            else:
                with self.tracing.run(type(job).subject, delivery):
                    await self._handle(job, delivery, make_ctx, release)
        except Exception as exc:  # a bug here must not kill the consume loop
            self.log.error("job.handle_failed", seq=delivery.seq, error=repr(exc))
        finally:
            reset_log_context(log_token)
            release(delivery)

    async def _handle(
        self,
        job: Job,
        delivery: Delivery,
        make_ctx: Callable[[Delivery], Any],
        release: Callable[[Delivery], None],
    ) -> None:
        cls = type(job)
        subject = cls.subject
        seq = delivery.seq
        try:
            payload = _loads(delivery.data)
        except ValueError as exc:
            error: JobError = JobPayloadError(
                "job.undecodable_payload",
                f"message {seq} on {subject!r} is not JSON: {exc}",
                {"subject": subject, "seq": seq},
            )
            self._fail(subject, seq, error, "decode")
            raw = delivery.data.decode("utf-8", "replace")
            await self._route_to_dlq(subject, raw, error, delivery)
            return
        count = delivery.delivery_count
        if count >= self.max_deliver and count > 1:
            # No earlier delivery finished: a finished run acks (done, or DLQ), so a message comes
            # back only when its worker died, its lease lapsed, or it was handed back (nak). Run
            # it now and a job that kills its worker would die on the last delivery too, past
            # which JetStream never redelivers nor removes it: so the last delivery only routes.
            error = JobDeliveriesExhaustedError(
                "job.deliveries_exhausted",
                f"message {seq} on {subject!r} reached its last delivery ({count} of max_deliver "
                f"{self.max_deliver}) without any earlier delivery finishing (its worker died, "
                "its lease lapsed, or it was handed back): not run again, failed to the DLQ. "
                "Find why the job kills its worker, then replay it",
                {"subject": subject, "seq": seq, "delivery_count": count},
            )
            self._fail(subject, seq, error, "max-deliver")
            await self._route_to_dlq(subject, payload, error, delivery)
            return
        listeners = self._listeners
        if listeners["start"]:
            self._emit(
                "start",
                subject=subject,
                seq=seq,
                delivery_count=delivery.delivery_count,
                lag_s=max(0.0, time.time() - delivery.stored_at),
            )
        run = _Run()
        timeout_ms = self.timeout_ms(cls)
        if timeout_ms:
            self._deadlines.add(
                run, timeout_ms / 1000,
                functools.partial(
                    self._on_timeout, run, subject, payload, delivery, timeout_ms, release
                ),
            )  # fmt: skip
        started = time.perf_counter() if listeners["done"] else 0.0
        try:
            ctx = make_ctx(delivery)
            try:
                result = await job.run(payload, ctx)
            except Exception as first:
                result = await self._retry(job, payload, ctx, run, seq, first)
        except Exception as exc:
            if run.timed_out:
                self._fail(subject, seq, exc, "abandoned-run")
                return
            self._deadlines.end(run)
            last = delivery.delivery_count >= self.max_deliver
            self._fail(subject, seq, exc, "max-deliver" if last else "run")
            await self._route_to_dlq(subject, payload, exc, delivery)
            return
        if run.timed_out:
            return  # already failed to the DLQ; a late success changes nothing
        self._deadlines.end(run)
        try:  # (inline, not self._ack: one coroutine frame less on every job)
            await delivery.ack()
        except Exception as exc:  # unacked: the message is redelivered (at least once)
            self.log.warning("job.ack_failed", seq=seq, error=repr(exc))
        if listeners["done"]:
            self._emit(
                "done",
                subject=subject,
                seq=seq,
                result=result,
                duration_ms=(time.perf_counter() - started) * 1000,
            )

    async def _retry(
        self, job: Job, payload: Any, ctx: Any, run: _Run, seq: int, error: Exception
    ) -> Any:
        """The retries after a failed first attempt; raises the last error.

        ``retry`` is emitted as an attempt starts (after its backoff), so every announced attempt
        runs: one the timeout pre-empted is never announced.
        """
        policy = type(job)._retry
        assert policy is not None
        subject = type(job).subject
        for number in range(1, policy.retries + 1):
            if run.timed_out:
                break
            await asyncio.sleep(policy.backoff.delay_s(number))
            if run.timed_out:
                break  # the timeout fell in the backoff: this attempt never runs, say nothing
            if self._listeners["retry"]:
                self._emit("retry", subject=subject, seq=seq, attempt=number,
                           retries_left=policy.retries - number + 1, error=error)  # fmt: skip
            try:
                return await job.run(payload, ctx)
            except Exception as exc:
                error = exc
        raise error

    def _on_timeout(
        self,
        run: _Run,
        subject: str,
        payload: Any,
        delivery: Delivery,
        timeout_ms: int,
        release: Callable[[Delivery], None],
    ) -> None:
        run.timed_out = True
        error = JobTimeoutError(
            "job.timeout",
            f"job on {subject!r} exceeded its run timeout ({timeout_ms} ms, retries included); "
            "failed to the DLQ. The run was not cancelled: it goes on in the background, so "
            "make run() idempotent",
            {"subject": subject, "seq": delivery.seq, "timeout_ms": timeout_ms},
        )
        last = delivery.delivery_count >= self.max_deliver
        self._fail(subject, delivery.seq, error, "max-deliver" if last else "run")

        async def route() -> None:
            await self._route_to_dlq(subject, payload, error, delivery)
            release(delivery)

        self._spawn(route())

    async def _route_to_dlq(
        self, subject: str, payload: Any, error: BaseException, delivery: Delivery
    ) -> None:
        count = delivery.delivery_count
        envelope = {
            "original_subject": subject,
            "failed_at": datetime.now(UTC).isoformat(),
            "delivery_count": count,
            "error": _error_dict(error),
            "payload": payload,
        }
        data = encode(envelope, what=f"dead letter of {subject!r}")
        try:
            await with_retry(lambda: self.bus.publish_dead_letter(subject, data), DLQ_PUBLISH_RETRY)
        except Exception as exc:
            if count >= self.max_deliver:
                # A nak on the last delivery is never redelivered, and an ack would lose the
                # job: leave it un-acked in the work stream and ask for an operator.
                self._fail(subject, delivery.seq, exc, "dlq-orphan", delivery_count=count)
                return
            delay_ms = nak_delay_ms(count)
            try:
                await delivery.nak(delay_ms / 1000)
            except Exception as nak_error:  # the lease will lapse and redeliver it anyway
                self.log.warning("job.nak_failed", seq=delivery.seq, error=repr(nak_error))
            self._fail(subject, delivery.seq, exc, "dlq-publish", nak_delay_ms=delay_ms)
            return
        await self._ack(delivery)
        if self._listeners["dlq"]:
            self._emit("dlq", subject=subject, seq=delivery.seq, dlq_subject=f"{subject}.dlq",
                       error=error)  # fmt: skip

    async def _ack(self, delivery: Delivery) -> None:
        try:
            await delivery.ack()
        except Exception as exc:  # unacked: the message is redelivered (at least once)
            self.log.warning("job.ack_failed", seq=delivery.seq, error=repr(exc))

    def _fail(
        self, subject: str, seq: int | None, error: BaseException, phase: str, **more: Any
    ) -> None:
        if phase == "abandoned-run" or not self._listeners["fail"]:
            log = self.log.warning if phase != "abandoned-run" else self.log.info
            log("job.fail", subject=subject, seq=seq, phase=phase, error=repr(error))
        if self._listeners["fail"]:
            self._emit("fail", subject=subject, seq=seq, error=error, phase=phase, **more)

    def fail_consume_loop(self, subject: str, error: BaseException) -> None:
        self._fail(subject, None, error, "consume-loop")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def track_abandoned(self, task: asyncio.Task[Any]) -> None:
        """Keep a timed-out handling task referenced until it ends (and cancellable at close)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Wait for DLQ routings in progress; cancel abandoned runs still going."""
        if not self._background:
            return
        _done, pending = await asyncio.wait(set(self._background), timeout=timeout_s)
        for task in pending:
            task.cancel()


def subject_of(job: type[Job]) -> str:
    """``job``'s subject; anything but a concrete job class is ``job.invalid_class``."""
    if not (isinstance(job, type) and issubclass(job, Job) and job._retry is not None):
        raise MegaConfigError(
            "job.invalid_class",
            f"{job!r} is not a job: subclass mega.plugins.jobs.Job and set subject",
            {"job": repr(job)},
        )
    return job.subject
