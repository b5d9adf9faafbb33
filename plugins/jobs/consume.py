"""``Consumption``: the pull loop of one job class in one worker process.

One loop fetches as many deliveries as it has free slots (the job's ``concurrency``), starts a
task per delivery and never waits for an ack round trip. One heartbeat task per consumption
renews the lease of every delivery in flight (no timer per message). A fetch that fails — a
server restart can leave a pull subscription dead without an error ever surfacing — is reported
as ``fail(phase="consume-loop")`` and the subscription is re-created, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from .job import Job
from .queue import JobQueue
from .transport import Consumer, Delivery

#: how long one fetch waits for messages; also how quickly ``stop`` is noticed when idle
FETCH_TIMEOUT_S = 1.0
RESET_BACKOFF_MAX_S = 5.0


class Consumption:
    """Consume ``job`` from ``queue`` with up to ``slots`` deliveries in flight."""

    def __init__(
        self,
        queue: JobQueue,
        job: Job,
        consumer: Consumer,
        make_ctx: Callable[[Delivery], Any],
        *,
        slots: int,
    ) -> None:
        self.queue = queue
        self.job = job
        self.subject = type(job).subject
        self.consumer = consumer
        self.make_ctx = make_ctx
        self.slots = slots
        #: deliveries in flight -> (their handling task, when their lease was last renewed)
        self._in_flight: dict[Delivery, list[Any]] = {}
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        queue: JobQueue,
        job: type[Job],
        make_ctx: Callable[[Delivery], Any],
        *,
        concurrency: int | None = None,
    ) -> Consumption:
        """Ensure the streams and the durable consumer, then start consuming."""
        config = queue.consumer_config(job, concurrency)
        await queue.ensure(config.subject)
        consumer = await queue.bus.consumer(config)
        self = cls(queue, job(), consumer, make_ctx, slots=config.concurrency)
        self._loop_task = asyncio.create_task(self._loop(), name=f"mega-jobs:{config.subject}")
        self._heartbeat_task = asyncio.create_task(self._heartbeat())
        return self

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def _loop(self) -> None:
        handle = self.queue.handle
        release = self._release
        in_flight = self._in_flight
        failures = 0
        while not self._stopping:
            free = self.slots - len(in_flight)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                batch = await self.consumer.fetch(free, FETCH_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.queue.fail_consume_loop(self.subject, exc)
                await asyncio.sleep(min(RESET_BACKOFF_MAX_S, 0.1 * 2**failures))
                try:
                    # the server may have lost the streams too (restarted without its store)
                    self.queue.forget(self.subject)
                    await self.queue.ensure(self.subject)
                    await self.consumer.reset()
                except Exception as reset_error:
                    self.queue.fail_consume_loop(self.subject, reset_error)
                continue
            failures = 0
            now = time.monotonic()
            for delivery in batch:
                entry: list[Any] = [None, now]
                in_flight[delivery] = entry
                entry[0] = asyncio.create_task(handle(self.job, delivery, self.make_ctx, release))

    def _release(self, delivery: Delivery) -> None:
        entry = self._in_flight.pop(delivery, None)
        if entry is None:
            return
        task = entry[0]
        if task is not None and not task.done() and task is not asyncio.current_task():
            self.queue.track_abandoned(task)  # its timeout fired: no longer ours to wait for
        self._slot_free.set()

    async def _heartbeat(self) -> None:
        """Renew every lease at least every ``heartbeat_ms`` (checking twice as often)."""
        every_s = self.queue.heartbeat_ms / 1000
        tick_s = every_s / 2
        while True:
            await asyncio.sleep(tick_s)
            now = time.monotonic()
            for delivery, entry in list(self._in_flight.items()):
                if now - entry[1] >= tick_s:
                    entry[1] = now
                    try:
                        await delivery.in_progress()
                    except Exception as exc:
                        self.queue.log.warning(
                            "job.heartbeat_failed", seq=delivery.seq, error=repr(exc)
                        )

    async def stop(self, *, deadline_s: float) -> int:
        """Stop fetching, let runs in flight finish for up to ``deadline_s``, then cancel the
        rest and hand their messages back (nak) so another worker takes them at once.

        Returns how many runs were cut off. Their messages are never acked: if the nak does
        not reach the server either, the lease lapses and they are redelivered after ack wait.
        """
        self._stopping = True
        self._slot_free.set()
        interrupt = getattr(self.consumer, "interrupt", None)
        if interrupt is not None:  # an idle fetch ends now rather than at its timeout
            interrupt()
        loop_task = self._loop_task
        if loop_task is not None:
            # a fetch ends within FETCH_TIMEOUT_S (at once if interrupted); waiting for it
            # keeps a batch it did claim handled
            _done, pending = await asyncio.wait({loop_task}, timeout=FETCH_TIMEOUT_S + 0.5)
            for task in pending:
                task.cancel()
        tasks = {entry[0] for entry in self._in_flight.values() if entry[0] is not None}
        cut: set[asyncio.Task[Any]] = set()
        if tasks:
            _done, cut = await asyncio.wait(tasks, timeout=max(0.0, deadline_s))
        cut_deliveries = [d for d, entry in self._in_flight.items() if entry[0] in cut]
        for task in cut:
            task.cancel()
        for delivery in cut_deliveries:
            with contextlib.suppress(Exception):  # if not, the lease lapses instead
                await delivery.nak()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        await asyncio.gather(
            *(t for t in (loop_task, self._heartbeat_task, *cut) if t is not None),
            return_exceptions=True,
        )
        await self.consumer.close()
        return len(cut)
