"""Plugins' events as metrics: each listener bumps a child bound once per label set."""

from __future__ import annotations

from typing import Any

from mega import Listener
from mega.plugins.http import TRACE_KEY, RequestObserver

from .registry import MetricsRegistry


def job_listeners(reg: MetricsRegistry) -> dict[str, Listener]:
    """``mega_jobs_*`` from the jobs plugin's events (labels: subject, and phase for failures)."""
    enqueued = reg.counter("mega_jobs_enqueued", "Jobs stored by enqueue.", ["subject"])
    duplicates = reg.counter(
        "mega_jobs_duplicates",
        "Enqueues not stored: their msg_id was stored within the duplicate window.",
        ["subject"],
    )
    started = reg.counter("mega_jobs_started", "Deliveries whose run started.", ["subject"])
    done = reg.counter("mega_jobs_done", "Runs that succeeded and were acked.", ["subject"])
    retried = reg.counter("mega_jobs_retried", "Failed attempts that were retried.", ["subject"])
    failed = reg.counter(
        "mega_jobs_failed",
        "Failures, by phase (run, decode, dlq-publish...).",
        ["subject", "phase"],
    )
    dead = reg.counter("mega_jobs_dead_lettered", "Messages moved to the DLQ.", ["subject"])
    seconds = reg.histogram("mega_job_run_seconds", "Run time of successful jobs.", ["subject"])
    lag = reg.histogram(
        "mega_job_queue_lag_seconds", "From stored to its run starting (per delivery).", ["subject"]
    )

    def on_start(e: Any) -> None:
        started.labels(e.subject).inc()
        lag.labels(e.subject).observe(e.lag_s)

    def on_done(e: Any) -> None:
        done.labels(e.subject).inc()
        seconds.labels(e.subject).observe(e.duration_ms / 1000)

    def on_dispatch(e: Any) -> None:
        # a duplicate was not stored: counting it as enqueued would overstate the work queued
        (duplicates if e.data.get("duplicate") else enqueued).labels(e.subject).inc()

    return {
        "dispatch": on_dispatch,
        "start": on_start,
        "done": on_done,
        "retry": lambda e: retried.labels(e.subject).inc(),
        "fail": lambda e: failed.labels(e.subject, e.phase).inc(),
        "dlq": lambda e: dead.labels(e.subject).inc(),
    }


def schedule_listeners(reg: MetricsRegistry) -> dict[str, Listener]:
    """``mega_schedule_*`` from the scheduler's events."""
    fired = reg.counter("mega_schedule_fired", "Fires that started.", ["schedule"])
    skipped = reg.counter(
        "mega_schedule_skipped", "Fires skipped, by reason.", ["schedule", "reason"]
    )
    done = reg.counter("mega_schedule_done", "Fires that succeeded.", ["schedule"])
    failed = reg.counter(
        "mega_schedule_failed", "Fires that failed, by phase.", ["schedule", "phase"]
    )
    seconds = reg.histogram("mega_schedule_run_seconds", "Run time of fires.", ["schedule"])

    def on_done(e: Any) -> None:
        done.labels(e.schedule).inc()
        seconds.labels(e.schedule).observe(e.duration_s)

    def on_fail(e: Any) -> None:
        failed.labels(e.schedule, e.phase).inc()
        duration = e.data.get("duration_s")
        if duration is not None:
            seconds.labels(e.schedule).observe(duration)

    return {
        "fire": lambda e: fired.labels(e.schedule).inc(),
        "skip": lambda e: skipped.labels(e.schedule, e.reason).inc(),
        "done": on_done,
        "fail": on_fail,
    }


def http_observer(reg: MetricsRegistry) -> RequestObserver:
    """RED metrics per **route template** (never the raw path), method and status class."""
    requests = reg.counter(
        "mega_http_requests", "Requests, by route template, method, status class.",
        ["method", "route", "status"],
    )  # fmt: skip
    seconds = reg.histogram(
        "mega_http_request_seconds", "Request duration, by route template and method.",
        ["method", "route"],
    )  # fmt: skip
    bound: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(scope: Any, route: str, status: int, elapsed: float) -> None:
        method = scope["method"]
        klass = status // 100
        children = bound.get((method, route, klass))
        if children is None:
            children = bound[(method, route, klass)] = (
                requests.labels(method, route, f"{klass}xx"),
                seconds.labels(method, route),
            )
        children[0].value += 1
        trace = scope.get(TRACE_KEY)
        if trace is None:
            children[1].observe(elapsed)
        else:  # the request's sampled span (tracing plugin): the bucket's exemplar
            children[1].observe_exemplar(elapsed, *trace)

    return observe
