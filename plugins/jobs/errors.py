"""Errors of the jobs plugin (codes ``job.*`` and ``worker.*``; see docs/errors.md)."""

from __future__ import annotations

from mega import MegaError


class JobError(MegaError):
    """Base of the jobs plugin's runtime errors."""


class JobTimeoutError(JobError):
    """A run (retries included) outlived its ``timeout_ms``; the message went to the DLQ."""

    http_status = 504


class JobDeliveriesExhaustedError(JobError):
    """A message reached its last delivery (``max_deliver``) with no earlier delivery finished
    (its worker died each time); it was failed to the DLQ without running again."""


class JobPayloadError(JobError):
    """A payload could not be encoded as JSON (enqueue) or decoded (worker)."""

    http_status = 422


class DeadLetterNotFound(JobError):
    """``mega jobs dlq show|replay`` named a sequence that is not in the DLQ."""

    http_status = 404


class WorkerError(MegaError):
    """Base of the CPU worker pool's errors (``ctx.workers.run``)."""


class WorkerTimeoutError(WorkerError):
    """A task ran longer than its timeout; its thread was abandoned or its process killed."""

    http_status = 504


class WorkerCrashedError(WorkerError):
    """The process running a task died (killed, segfault, os._exit); it was replaced."""


class WorkerBusyError(WorkerError):
    """The pool's queue is full and the caller chose not to wait (``wait=False``)."""

    http_status = 503


class WorkerClosedError(WorkerError):
    """The pool is shutting down and takes no new tasks."""

    http_status = 503
