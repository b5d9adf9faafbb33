"""Test helpers of the jobs plugin (re-exported by ``mega.testing``)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .job import Job, JobCtx
from .queue import encode
from .retry import RetryPolicy, with_retry

if TYPE_CHECKING:
    from mega import App

    from .runtime import Jobs


class _InProcess:
    """The delivery a ``run_job`` run sees (seq 0, first delivery): what wrappers get."""

    seq = 0
    delivery_count = 1

    def __init__(self, data: bytes, headers: dict[str, str]) -> None:
        self.data = data
        self.headers = headers
        self.stored_at = time.time()

    async def ack(self) -> None:
        return None

    async def nak(self, delay_s: float | None = None) -> None:
        return None

    async def in_progress(self) -> None:
        return None


async def run_job(app: App, job: type[Job], payload: Any, *, retries: bool = False) -> Any:
    """Run a job of a booted app in-process, as a worker would, and return its result.

    The payload makes the same JSON round trip it makes through a bus, so a payload a real
    enqueue would refuse fails here too; the message headers the ``mega_jobs_message_headers``
    hooks add are on it, the ``mega_jobs_wrap_run`` wrappers are around the run, and the
    ``start``, ``done`` and ``fail`` events reach the listeners (metrics, tracing and any other
    observer see the run as they would in a worker). The first failure is raised;
    ``retries=True`` applies the job's retries and backoff first. Needs the ``jobs`` plugin
    enabled (no bus is used).
    """
    jobs: Jobs = app.extension("jobs", needed_by="run_job")
    data = encode(payload, what=f"run_job({job.__name__})")
    hooks = jobs.message_hooks  # what the queues apply to every message
    headers = (hooks.inject() if hooks is not None else None) or {}
    delivery = _InProcess(data, dict(headers))
    decoded = json.loads(data)
    instance = job()
    ctx = JobCtx(app, job.subject, delivery.seq, delivery.delivery_count)
    retry = job._retry
    assert retry is not None  # a concrete job class has its policy
    policy = retry if retries else RetryPolicy(0, retry.backoff)
    subject, events = job.subject, jobs.events
    events.emit("start", subject=subject, seq=0, delivery_count=1, lag_s=0.0)
    started = time.perf_counter()
    try:
        if hooks is None:
            result = await with_retry(lambda: instance.run(decoded, ctx), policy)
        else:
            with hooks.run(subject, delivery):
                result = await with_retry(lambda: instance.run(decoded, ctx), policy)
    except Exception as exc:
        events.emit("fail", subject=subject, seq=0, error=exc, phase="run")
        raise
    duration_ms = (time.perf_counter() - started) * 1000
    events.emit("done", subject=subject, seq=0, result=result, duration_ms=duration_ms)
    return result


__all__ = ["run_job"]
