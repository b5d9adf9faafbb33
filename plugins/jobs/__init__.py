"""The ``jobs`` plugin: durable jobs with retries, a run timeout and a dead-letter queue.

Jobs live in ``apps/<app>/jobs/*.py`` (``mega g job <Name>``) and are enqueued with
``await ctx.jobs.enqueue(SendEmail, payload)``; ``mega worker`` consumes them. Two bus drivers,
chosen by config alone: ``local`` (an embedded SQLite store, no server) and ``nats`` (NATS
JetStream). CPU-bound work goes to ``ctx.workers.run(Task, payload)`` (``mega g worker``).
See docs/plugins/jobs.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import Field, model_validator

from mega import (
    App,
    Ctx,
    MegaConfigError,
    MegaNotFoundError,
    PluginConfig,
    PluginRegistry,
    PluginSpec,
    discover_classes,
    hookimpl,
)

from . import hooks
from .consume import Consumption
from .errors import (
    DeadLetterNotFound,
    JobDeliveriesExhaustedError,
    JobError,
    JobPayloadError,
    JobTimeoutError,
    WorkerBusyError,
    WorkerClosedError,
    WorkerCrashedError,
    WorkerError,
    WorkerTimeoutError,
)
from .job import Job, JobCtx
from .local_bus import LocalBus, LocalBusOptions
from .nats_bus import NatsBus, NatsOptions
from .outbox import RELAY_ROUND_PUBLISHES, JobOutbox, Outbox, Outboxed, OutboxStorage
from .queue import (
    DEFAULT_DLQ_MAX_AGE_MS,
    DEFAULT_RUN_TIMEOUT_MS,
    EVENTS,
    FAIL_PHASES,
    JobQueue,
    nak_delay_ms,
)
from .retry import Backoff
from .runtime import Jobs
from .transport import (
    Consumer,
    ConsumerConfig,
    DeadLetter,
    Delivery,
    JobBus,
    Published,
    StreamLimits,
    SubjectStats,
)
from .workers import Worker, WorkerPools


class JobsSettings(PluginConfig):
    """The ``[plugins.jobs]`` table."""

    #: a delivery's lease: not acked or renewed within this, it is redelivered
    ack_wait_ms: int = Field(default=30_000, ge=1)
    #: deliveries per message (crashes and lapsed leases redeliver); the last one's failure
    #: goes to the DLQ
    max_deliver: int = Field(default=5, ge=1)
    #: lease renewal period; default max(1000, ack_wait_ms / 2); must be < ack_wait_ms
    heartbeat_ms: int | None = Field(default=None, ge=1)
    #: bound on a job's whole run, retries included, unless the job sets timeout_ms; 0 = none
    run_timeout_ms: int = Field(default=DEFAULT_RUN_TIMEOUT_MS, ge=0)
    #: how long dead letters are kept (applied when a DLQ stream is created); 0 = forever
    dlq_max_age_ms: int = Field(default=DEFAULT_DLQ_MAX_AGE_MS, ge=0)
    #: size cap of each DLQ stream (applied when it is created); unset = no cap
    dlq_max_bytes: int | None = Field(default=None, ge=1)
    #: a msg_id seen within this window is not stored again (applied at stream creation)
    duplicate_window_ms: int = Field(default=120_000, ge=1)
    #: on shutdown, how long runs in flight may finish before being handed back; must be below
    #: [app] shutdown_timeout_ms (the drain runs inside that deadline)
    drain_timeout_ms: int = Field(default=8_000, ge=0)
    #: also consume in `mega run` / `mega serve` (off: only `mega worker` consumes)
    consume: bool = False
    #: the [adapters.db.<alias>] whose transactions hold enqueued jobs until they commit (the
    #: transactional outbox, table mega_job_outbox); "" = off: publish at once, even inside a
    #: transaction. Unused when no such db adapter is configured.
    outbox_db: str = "default"
    #: run the relay that publishes what a crash or an unreachable bus left in the outbox
    outbox_relay: bool = True
    #: how long a row is held by the process publishing it; a crashed publisher's rows are
    #: taken over after this. Must exceed 5 x outbox_publish_timeout_ms (a relay round).
    outbox_lease_ms: int = Field(default=30_000, ge=100)
    #: bound on one publish of an outbox row
    outbox_publish_timeout_ms: int = Field(default=5_000, ge=1)
    #: the idle relay polls the table at most this far apart (from 50 ms, doubling)
    outbox_poll_max_ms: int = Field(default=5_000, ge=50)
    #: failed publishes of a row (backoff 1 s doubling to 1 min) before it is parked as dead
    outbox_max_attempts: int = Field(default=1_000, ge=1)

    @model_validator(mode="after")
    def _relay_round_within_lease(self) -> Self:
        round_ms = RELAY_ROUND_PUBLISHES * self.outbox_publish_timeout_ms
        if round_ms >= self.outbox_lease_ms:
            raise ValueError(
                f"outbox_lease_ms ({self.outbox_lease_ms}) must exceed {RELAY_ROUND_PUBLISHES} x "
                f"outbox_publish_timeout_ms ({round_ms}): a relay round may take that long, and "
                "a lease lapsing mid-round lets another relay publish the same rows"
            )
        return self

    @model_validator(mode="after")
    def _heartbeat_below_ack_wait(self) -> Self:
        # checked here, at boot: JobQueue would only refuse it at the first enqueue, naming a
        # heartbeat the user never set
        from .queue import default_heartbeat_ms

        if self.heartbeat_ms is None:
            if default_heartbeat_ms(self.ack_wait_ms) >= self.ack_wait_ms:
                raise ValueError(
                    f"[plugins.jobs] ack_wait_ms ({self.ack_wait_ms}) must be above 1000 while "
                    "heartbeat_ms is unset: leases are then renewed every max(1000, ack_wait_ms "
                    "/ 2) ms, not before they lapse; raise ack_wait_ms above 1000, or set "
                    "heartbeat_ms below it"
                )
        elif self.heartbeat_ms >= self.ack_wait_ms:
            raise ValueError(
                f"heartbeat_ms ({self.heartbeat_ms}) must be below ack_wait_ms "
                f"({self.ack_wait_ms}), or the lease lapses between renewals"
            )
        return self


plugin = PluginSpec(
    name="jobs",
    description="Durable jobs (local SQLite store or NATS JetStream), DLQ, CPU worker pools",
    provides=("bus", "jobs", "workers"),
    config=JobsSettings,
    hooks=hooks,
)


def jobs_of(ctx: Ctx | App) -> Jobs:
    """The app's ``Jobs`` (what ``ctx.jobs`` is), typed."""
    app = ctx if isinstance(ctx, App) else ctx.app
    found: Jobs = app.extensions["jobs"]
    return found


def workers_of(ctx: Ctx | App) -> WorkerPools:
    """The app's worker pools (what ``ctx.workers`` is), typed."""
    app = ctx if isinstance(ctx, App) else ctx.app
    found: WorkerPools = app.extensions["workers"]
    return found


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from mega import scaffolds_dir

    from .cli import jobs_cli, worker_command

    registry.ctx_attribute("jobs", jobs_of)
    registry.ctx_attribute("workers", workers_of)

    registry.adapter_driver(
        "bus",
        "local",
        LocalBus,
        options=LocalBusOptions,
        description="embedded durable job store in a SQLite file (no server)",
    )
    registry.adapter_driver(
        "bus",
        "nats",
        NatsBus,
        options=NatsOptions,
        description="NATS JetStream (nats-py): work + DLQ streams, durable pull consumers",
    )
    registry.generator(
        "job",
        dir=scaffolds_dir() / "jobs",
        description="A durable job in apps/<app>/jobs/, with a test that runs it",
        files=[
            {"path": "apps/{{ app }}/jobs/{{ snake }}.py", "template": "job.py.tpl"},
            {"path": "tests/{{ app }}/test_{{ snake }}_job.py", "template": "test_job.py.tpl"},
        ],
    )
    registry.generator(
        "worker",
        dir=scaffolds_dir() / "jobs",
        description="A CPU-bound task for ctx.workers.run in apps/<app>/workers/, with a test",
        files=[
            {"path": "apps/{{ app }}/workers/{{ snake }}.py", "template": "worker.py.tpl"},
            {
                "path": "tests/{{ app }}/test_{{ snake }}_worker.py",
                "template": "test_worker.py.tpl",
            },
        ],
    )
    registry.command("worker", worker_command, help="Consume the app's jobs until SIGTERM.")
    registry.command("jobs", jobs_cli, help="Job streams: status, dead letters.")


def discover_jobs(root: Path | None) -> list[type[Job]]:
    """Import ``apps/*/jobs/*.py``; return the job classes defined there."""
    return discover_classes(
        root,
        "jobs",
        lambda cls: issubclass(cls, Job) and cls._retry is not None,
        what="job",
    )


def discover_workers(root: Path | None) -> list[type[Worker]]:
    """Import ``apps/*/workers/*.py``; return the worker classes defined there."""
    return discover_classes(
        root,
        "workers",
        lambda cls: issubclass(cls, Worker) and cls is not Worker,
        what="worker",
    )


@hookimpl
def mega_db_models(app: App) -> list[type[Any]]:
    # the outbox table, when a database holds jobs for after the commit (`mega migrate
    # make` adds it)
    return [JobOutbox]


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("jobs")
    assert isinstance(settings, JobsSettings)
    shutdown_ms = app.config.app.shutdown_timeout_ms
    if settings.drain_timeout_ms >= shutdown_ms:
        raise MegaConfigError(
            "jobs.drain_exceeds_shutdown",
            f"[plugins.jobs] drain_timeout_ms ({settings.drain_timeout_ms}) must be below [app] "
            f"shutdown_timeout_ms ({shutdown_ms}): the drain runs inside the shutdown deadline",
            {"drain_timeout_ms": settings.drain_timeout_ms, "shutdown_timeout_ms": shutdown_ms},
        )
    app.extensions["jobs"] = Jobs(app, settings, discover_jobs(app.config.root))
    app.extensions["workers"] = WorkerPools(discover_workers(app.config.root))


@hookimpl
async def mega_after_boot(app: App) -> None:
    jobs: Jobs = app.extensions["jobs"]
    jobs.check_buses()
    jobs.install_hooks(app)
    jobs.outbox = _outbox(app, jobs)
    if app.tool:
        return  # a one-shot command: it starts what it needs (`mega worker` consumes)
    if jobs.outbox is not None and jobs.settings.outbox_relay:
        jobs.outbox.start_relay()
    if jobs.settings.consume:
        await jobs.start()


def _outbox(app: App, jobs: Jobs) -> Outbox | None:
    settings = jobs.settings
    if not settings.outbox_db:
        return None
    try:
        db = app.adapters.get("db", settings.outbox_db)
    except MegaNotFoundError:
        return None  # no such database: nothing to hold jobs for
    return Outbox(
        db,
        jobs.queue,
        lease_ms=settings.outbox_lease_ms,
        poll_max_ms=settings.outbox_poll_max_ms,
        max_attempts=settings.outbox_max_attempts,
        publish_timeout_ms=settings.outbox_publish_timeout_ms,
    )


@hookimpl
async def mega_before_shutdown(app: App) -> None:
    jobs: Jobs = app.extensions["jobs"]
    if jobs.outbox is not None:
        await jobs.outbox.stop_relay(jobs.settings.drain_timeout_ms / 1000)
    await jobs.stop()
    await app.extensions["workers"].close()


__all__ = [
    "DEFAULT_DLQ_MAX_AGE_MS",
    "DEFAULT_RUN_TIMEOUT_MS",
    "EVENTS",
    "FAIL_PHASES",
    "Backoff",
    "Consumer",
    "ConsumerConfig",
    "Consumption",
    "DeadLetter",
    "DeadLetterNotFound",
    "Delivery",
    "Job",
    "JobBus",
    "JobCtx",
    "JobDeliveriesExhaustedError",
    "JobError",
    "JobOutbox",
    "JobPayloadError",
    "JobQueue",
    "JobTimeoutError",
    "Jobs",
    "JobsSettings",
    "LocalBus",
    "LocalBusOptions",
    "NatsBus",
    "NatsOptions",
    "Outbox",
    "OutboxStorage",
    "Outboxed",
    "Published",
    "StreamLimits",
    "SubjectStats",
    "Worker",
    "WorkerBusyError",
    "WorkerClosedError",
    "WorkerCrashedError",
    "WorkerError",
    "WorkerPools",
    "WorkerTimeoutError",
    "discover_jobs",
    "discover_workers",
    "jobs_of",
    "nak_delay_ms",
    "plugin",
    "workers_of",
]
