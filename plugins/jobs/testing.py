"""Test helpers of the jobs plugin (re-exported by ``mega.testing``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .job import Job, JobCtx
from .queue import encode
from .retry import RetryPolicy, with_retry

if TYPE_CHECKING:
    from mega import App


async def run_job(app: App, job: type[Job], payload: Any, *, retries: bool = False) -> Any:
    """Run a job of a booted app in-process, as a worker would, and return its result.

    The payload makes the same JSON round trip it makes through a bus, so a payload a real
    enqueue would refuse fails here too. The first failure is raised; ``retries=True`` applies
    the job's retries and backoff first. Needs the ``jobs`` plugin enabled (no bus is used).
    """
    app.extension("jobs", needed_by="run_job")
    decoded = json.loads(encode(payload, what=f"run_job({job.__name__})"))
    instance = job()
    ctx = JobCtx(app, job.subject, 0, 1)
    retry = job._retry
    assert retry is not None  # a concrete job class has its policy
    policy = retry if retries else RetryPolicy(0, retry.backoff)
    return await with_retry(lambda: instance.run(decoded, ctx), policy)


__all__ = ["run_job"]
