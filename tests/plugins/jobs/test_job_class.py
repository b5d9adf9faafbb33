"""Job declarations are checked when the class is made: bad values fail naming the job."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.plugins.jobs import Backoff, Job, JobQueue, LocalBus, LocalBusOptions
from mega.plugins.jobs.retry import RetryPolicy, with_retry


def make(**attrs):
    return type("SendEmail", (Job,), {"subject": "emails.send", **attrs})


@pytest.mark.parametrize(
    ("attrs", "code", "needle"),
    [
        ({"subject": "has space"}, "job.invalid_subject", "'has space'"),
        ({"subject": "emails.*"}, "job.invalid_subject", "no wildcards"),
        ({"subject": "emails.dlq"}, "job.invalid_subject", "kept for dead letters"),
        ({"subject": 5}, "job.invalid_subject", "got 5"),
        ({"concurrency": 0}, "job.invalid_concurrency", "concurrency must be an integer >= 1"),
        ({"concurrency": True}, "job.invalid_concurrency", "got True"),
        ({"retries": -1}, "job.invalid_retries", "retries must be an integer >= 0"),
        ({"retries": 1.5}, "job.invalid_retries", "got 1.5"),
        ({"timeout_ms": -5}, "job.invalid_timeout", "timeout_ms must be an integer >= 0"),
        ({"bus": ""}, "job.invalid_bus", "adapter alias"),
        ({"backoff": {"initial": 5}}, "job.invalid_backoff", "unknown keys ['initial']"),
        ({"backoff": Backoff(initial_ms=500, max_ms=100)}, "job.invalid_backoff", ">= initial"),
        ({"backoff": Backoff(factor=0.5)}, "job.invalid_backoff", "factor must be a number >= 1"),
        ({"backoff": "fast"}, "job.invalid_backoff", "Backoff(...)"),
    ],
)
def test_invalid_declarations_fail_naming_the_job(attrs, code, needle):
    with pytest.raises(MegaConfigError) as caught:
        make(**attrs)
    assert caught.value.code == code
    assert "'SendEmail'" in caught.value.message and needle in caught.value.message
    assert caught.value.details["job"] == "SendEmail"


def test_defaults_follow_the_seed():
    job = make()
    assert (job.bus, job.concurrency, job.retries, job.timeout_ms) == ("default", 1, 3, None)
    assert job._retry == RetryPolicy(3, Backoff(1000, 30_000, 2.0, True))
    assert make(backoff={"initial_ms": 10, "max_ms": 50})._retry.backoff == Backoff(10, 50)


def test_a_base_without_subject_is_abstract():
    class Base(Job):
        retries = 1

    assert Base._retry is None
    assert type("Concrete", (Base,), {"subject": "a.b"})._retry.retries == 1


def test_backoff_delays_grow_by_factor_with_jitter_in_one_to_two_and_cap():
    plain = Backoff(initial_ms=100, max_ms=1_000, jitter=False)
    assert [plain.delay_s(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    jittered = Backoff(initial_ms=100, max_ms=10_000)
    for _ in range(50):
        assert 0.2 <= jittered.delay_s(2) < 0.4


async def test_with_retry_runs_retries_plus_one_attempts_then_raises():
    attempts = []

    async def attempt():
        attempts.append(1)
        raise ValueError(len(attempts))

    seen = []
    policy = RetryPolicy(2, Backoff(initial_ms=1, max_ms=1))
    with pytest.raises(ValueError, match="3"):
        await with_retry(attempt, policy, lambda n, left, e: seen.append((n, left)))
    assert len(attempts) == 3 and seen == [(1, 2), (2, 1)]


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"heartbeat_ms": 30_000}, "jobs.invalid_heartbeat"),
        ({"heartbeat_ms": 0}, "jobs.invalid_heartbeat"),
        ({"ack_wait_ms": 1_000, "heartbeat_ms": 1_500}, "jobs.invalid_heartbeat"),
        ({"max_deliver": 0}, "jobs.invalid_max_deliver"),
        ({"run_timeout_ms": -1}, "jobs.invalid_run_timeout"),
        ({"dlq_max_age_ms": -1}, "jobs.invalid_dlq_max_age"),
        ({"dlq_max_bytes": 0}, "jobs.invalid_dlq_max_bytes"),
    ],
)
def test_queue_settings_are_checked_in_the_constructor(settings, code, tmp_path):
    bus = LocalBus(alias="default", options=LocalBusOptions(path=str(tmp_path / "j.sqlite3")))
    with pytest.raises(MegaConfigError) as caught:
        JobQueue(bus, **settings)
    assert caught.value.code == code


def test_heartbeat_defaults_to_half_the_ack_wait_but_at_least_a_second(tmp_path):
    bus = LocalBus(alias="default", options=LocalBusOptions(path=str(tmp_path / "j.sqlite3")))
    assert JobQueue(bus).heartbeat_ms == 15_000
    assert JobQueue(bus, ack_wait_ms=1_500).heartbeat_ms == 1_000


def test_subscribing_to_an_unknown_event_is_an_error(tmp_path):
    bus = LocalBus(alias="default", options=LocalBusOptions(path=str(tmp_path / "j.sqlite3")))
    queue = JobQueue(bus)
    with pytest.raises(MegaConfigError, match=r"'finish'.*dispatch, dlq, done, fail, retry, start"):
        queue.events.on("finish", print)
