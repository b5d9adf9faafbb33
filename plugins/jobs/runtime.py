"""``Jobs``: the jobs of one app — reached as ``ctx.jobs`` / ``app.extensions["jobs"]``.

It holds the job classes (found in ``apps/<app>/jobs/*.py`` or added), one ``JobQueue`` per bus
alias (sharing one ``events``), and, in a worker, the consumptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mega import Events, MegaConfigError, MegaNotFoundError, nest

from .consume import Consumption
from .errors import JobPayloadError
from .job import Job, JobCtx
from .queue import EVENTS, JobQueue, encode, subject_of
from .transport import Delivery, Published

if TYPE_CHECKING:
    from mega import App

    from . import JobsSettings
    from .outbox import Outbox, Outboxed


class MessageHooks:
    """The queues' ``JobTracing``: the ``mega_jobs_message_headers`` implementations merged,
    the ``mega_jobs_wrap_run`` ones nested."""

    __slots__ = ("_headers", "run")

    def __init__(
        self,
        headers: Sequence[Callable[[], Mapping[str, str] | None]],
        run: Callable[[str, Delivery], AbstractContextManager[Any]],
    ) -> None:
        self._headers = tuple(headers)
        self.run = run

    @classmethod
    def of(
        cls,
        headers: Sequence[Callable[[], Mapping[str, str] | None]],
        wrappers: Sequence[Callable[[str, Delivery], AbstractContextManager[Any]]],
    ) -> MessageHooks | None:
        if not headers and not wrappers:
            return None  # the bare path: no call per enqueue or run
        return cls(headers, nest(wrappers) or _no_wrap)

    def inject(self) -> dict[str, str] | None:
        merged: dict[str, str] = {}
        for headers in self._headers:
            found = headers()
            if found:
                merged.update(found)
        return merged or None


def _no_wrap(subject: str, delivery: Delivery) -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


_BUS_METHODS = ("ensure_streams", "publish", "publish_many", "publish_dead_letter", "consumer")


class Jobs:
    """Enqueue jobs (``await ctx.jobs.enqueue(SendEmail, {...})``) and consume them."""

    def __init__(self, app: App, settings: JobsSettings, jobs: Iterable[type[Job]] = ()) -> None:
        self.app = app
        self.settings = settings
        self.jobs: dict[str, type[Job]] = {}
        #: subscribe with ``ctx.jobs.events.on("fail", listener)``; every bus emits here
        self.events = Events("jobs", EVENTS)
        self._queues: dict[str, JobQueue] = {}
        #: what the mega_jobs_wrap_run / mega_jobs_message_headers hooks give every queue
        self._message_hooks: Any = None
        self.consumptions: list[Consumption] = []
        #: the transactional outbox (set at boot when ``outbox_db`` names a db adapter)
        self.outbox: Outbox | None = None
        for cls in jobs:
            self.add(cls)

    def add(self, cls: type[Job]) -> None:
        """Add a job class (discovered ones are added at boot)."""
        subject_of(cls)  # raises job.invalid_class for anything that is not a concrete job
        for name, other in self.jobs.items():
            if other is cls:
                return
            if name == cls.job_name():
                raise MegaConfigError(
                    "job.duplicate_name",
                    f"two jobs are named {name!r}: {other.__module__} and {cls.__module__}; "
                    "rename one class",
                    {"job": name, "modules": [other.__module__, cls.__module__]},
                )
            if other.subject == cls.subject:
                raise MegaConfigError(
                    "job.duplicate_subject",
                    f"jobs {name!r} and {cls.job_name()!r} both use subject {cls.subject!r}; "
                    "each job needs its own subject",
                    {"subject": cls.subject, "jobs": [name, cls.job_name()]},
                )
        self.jobs[cls.job_name()] = cls

    def check_buses(self) -> None:
        """Fail at boot when a job names a bus alias that is not configured (or not a job bus)."""
        for name, cls in self.jobs.items():
            try:
                bus = self.app.adapters.get("bus", cls.bus)
            except MegaNotFoundError as exc:
                raise MegaConfigError(
                    "job.unknown_bus",
                    f"job {name!r} uses bus {cls.bus!r}, which is not configured: add "
                    f'[adapters.bus.{cls.bus}] with driver = "local" (embedded) or "nats"',
                    {"job": name, "bus": cls.bus, **exc.details},
                ) from None
            missing = [m for m in _BUS_METHODS if not hasattr(bus, m)]
            if missing:
                raise MegaConfigError(
                    "job.bus_without_jobs",
                    f"job {name!r} uses bus {cls.bus!r}, whose driver does not store jobs "
                    f"(missing {', '.join(missing)}); use the local or nats driver",
                    {"job": name, "bus": cls.bus},
                )

    def install_hooks(self, app: App) -> None:
        """Collect the ``mega_jobs_*`` implementations (once, at boot): listeners on
        ``events``, run wrappers and message headers on every queue."""
        for plugin, listeners in app.hooks.collect_by_plugin("mega_jobs_listeners", app=app):
            self.events.attach(listeners, source=f"plugin {plugin!r}")
        self._set_propagation(
            MessageHooks.of(
                app.hooks.collect("mega_jobs_message_headers", app=app),
                app.hooks.collect("mega_jobs_wrap_run", app=app),
            )
        )

    def _set_propagation(self, propagation: Any) -> None:
        self._message_hooks = propagation
        for queue in self._queues.values():
            queue.tracing = propagation

    @property
    def message_hooks(self) -> MessageHooks | None:
        """What the ``mega_jobs_message_headers`` and ``mega_jobs_wrap_run`` hooks give every
        enqueue and run (None: no implementation)."""
        hooks: MessageHooks | None = self._message_hooks
        return hooks

    @property
    def tracing(self) -> Any:
        """Deprecated: implement ``mega_jobs_wrap_run`` / ``mega_jobs_message_headers``."""
        return self._message_hooks

    @tracing.setter
    def tracing(self, tracing: Any) -> None:
        warnings.warn(
            "assigning jobs.tracing is deprecated and goes in the next release: implement the "
            "mega_jobs_wrap_run and mega_jobs_message_headers hooks",
            DeprecationWarning,
            stacklevel=2,
        )
        self._set_propagation(tracing)

    def queue(self, bus: str = "default") -> JobQueue:
        """The ``JobQueue`` of a bus alias (made on first use)."""
        queue = self._queues.get(bus)
        if queue is None:
            s = self.settings
            queue = self._queues[bus] = JobQueue(
                self.app.adapters.get("bus", bus),
                ack_wait_ms=s.ack_wait_ms,
                max_deliver=s.max_deliver,
                heartbeat_ms=s.heartbeat_ms,
                run_timeout_ms=s.run_timeout_ms,
                dlq_max_age_ms=s.dlq_max_age_ms,
                dlq_max_bytes=s.dlq_max_bytes,
                duplicate_window_ms=s.duplicate_window_ms,
                events=self.events,
                tracing=self._message_hooks,
            )
        return queue

    def get(self, name_or_subject: str) -> type[Job]:
        """A job class by class name or subject; unknown names list the known ones."""
        found = self.jobs.get(name_or_subject) or next(
            (cls for cls in self.jobs.values() if cls.subject == name_or_subject), None
        )
        if found is None:
            raise MegaNotFoundError(
                "job.unknown",
                f"no job {name_or_subject!r}; jobs of this app: "
                f"{', '.join(f'{n} ({c.subject})' for n, c in sorted(self.jobs.items())) or '(none: add one with `mega g job <Name>`)'}",  # noqa: E501
                {"job": name_or_subject, "known": sorted(self.jobs)},
            )
        return found

    # -- producing ------------------------------------------------------------------------

    async def enqueue(
        self, job: type[Job], payload: Any, msg_id: str | None = None
    ) -> Published | Outboxed:
        """Store a message for ``job`` on its bus; ``msg_id`` deduplicates within the window.

        Inside a transaction on the outbox database the message is written to the outbox in
        that transaction instead, and published once it commits (never after a rollback):
        the result is then ``Outboxed(outbox_id, msg_id)``. See docs/plugins/jobs.md.
        """
        outbox = self.outbox
        if outbox is not None and outbox.db.in_transaction:
            [stored] = await self._outboxed(outbox, job, [(payload, msg_id)], "enqueue")
            return stored
        return await self.queue(job.bus).enqueue(job, payload, msg_id)

    async def enqueue_many(
        self, job: type[Job], payloads: Iterable[Any]
    ) -> list[Published] | list[Outboxed]:
        """Store many messages for ``job``, pipelined (in a transaction: in the outbox)."""
        outbox = self.outbox
        if outbox is not None and outbox.db.in_transaction:
            items: list[tuple[Any, str | None]] = [(payload, None) for payload in payloads]
            return await self._outboxed(outbox, job, items, "enqueue_many")
        return await self.queue(job.bus).enqueue_many(job, payloads)

    async def _outboxed(
        self,
        outbox: Outbox,
        job: type[Job],
        items: list[tuple[Any, str | None]],
        call: str,
    ) -> list[Outboxed]:
        subject = subject_of(job)
        what = f"{call}({job.__name__})"
        for _payload, msg_id in items:
            if msg_id is not None and (not isinstance(msg_id, str) or not msg_id):
                raise JobPayloadError(
                    "job.invalid_msg_id",
                    f"{what}: msg_id must be a non-empty string or None, got {msg_id!r}",
                    {"job": job.__name__},
                )
        encoded = [(encode(payload, what=what), msg_id) for payload, msg_id in items]
        headers = None if self._message_hooks is None else self._message_hooks.inject()
        return await outbox.add(job.bus, subject, encoded, headers, what=what)

    async def replay(self, job: type[Job], seq: int | None = None) -> list[Published]:
        """Move dead letters of ``job`` back to its work stream: one (``seq``) or all.

        Each is re-published with the msg_id ``replay-<dlq seq>`` (a replay repeated within
        the duplicate window is not stored twice), then deleted from the DLQ.
        """
        queue = self.queue(job.bus)
        bus = queue.bus
        letters = (
            [await bus.dead_letter(job.subject, seq)]
            if seq is not None
            else await bus.dead_letters(job.subject, limit=1_000_000)
        )
        await queue.ensure(job.subject)
        replayed = []
        for letter in letters:
            data = encode(letter.envelope.get("payload"), what=f"replay of {job.__name__}")
            replayed.append(await bus.publish(job.subject, data, f"replay-{letter.seq}"))
            await bus.delete_dead_letter(job.subject, letter.seq)
        return replayed

    # -- consuming ------------------------------------------------------------------------

    def _make_ctx(self, subject: str) -> Any:
        app = self.app

        def make(delivery: Delivery) -> JobCtx:
            return JobCtx(app, subject, delivery.seq, delivery.delivery_count)

        return make

    async def start(
        self, names: Iterable[str] | None = None, *, concurrency: int | None = None
    ) -> list[Consumption]:
        """Start consuming the named jobs (default: all); ``concurrency`` overrides each job's."""
        selected = [self.get(n) for n in names] if names else list(self.jobs.values())
        running = {type(c.job).subject for c in self.consumptions}
        selected = [cls for cls in selected if cls.subject not in running]
        started = await asyncio.gather(
            *(
                Consumption.start(
                    self.queue(cls.bus),
                    cls,
                    self._make_ctx(cls.subject),
                    concurrency=concurrency,
                )
                for cls in selected
            )
        )
        self.consumptions += started
        return list(started)

    async def stop(self, *, deadline_s: float | None = None) -> int:
        """Stop every consumption: drain runs in flight up to ``deadline_s`` (default the
        ``drain_timeout_ms`` setting), hand the rest back. Returns how many were cut off."""
        if deadline_s is None:
            deadline_s = self.settings.drain_timeout_ms / 1000
        consumptions, self.consumptions = self.consumptions, []
        cut = await asyncio.gather(*(c.stop(deadline_s=deadline_s) for c in consumptions))
        await asyncio.gather(*(q.close() for q in self._queues.values()))
        return sum(cut)
