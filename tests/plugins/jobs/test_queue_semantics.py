"""The behavioural suite of the job queue, run against both drivers (local SQLite, NATS)."""

from __future__ import annotations

import asyncio
import json

from mega.plugins.jobs import Backoff, Job, JobTimeoutError, nak_delay_ms

FAST = Backoff(initial_ms=10, max_ms=20, jitter=False)


class Flaky(Job):
    """Fails ``fail_times`` times per message, then returns the payload."""

    subject = "abstract.flaky"
    fail_times = 0
    calls: dict[int, int]

    async def run(self, payload, ctx):
        calls = type(self).calls
        calls[ctx.seq] = calls.get(ctx.seq, 0) + 1
        if calls[ctx.seq] <= type(self).fail_times:
            raise RuntimeError(f"attempt {calls[ctx.seq]} failed")
        return payload


async def test_retries_then_success(harness, subject, job_class, until):
    h = harness()
    job = job_class(Flaky, subject(), fail_times=2, retries=3, backoff=FAST, calls={})
    published = await h.queue.enqueue(job, {"n": 1})
    await h.consume(job)
    await until(lambda: h.named("done"))
    done = h.named("done")[0]
    assert done.seq == published.seq and done.result == {"n": 1}
    assert [e.attempt for e in h.named("retry")] == [1, 2]
    assert job.calls[published.seq] == 3
    assert not h.named("fail") and not h.named("dlq")
    await until(lambda: True)
    stats = await h.bus.stats(job.subject)
    assert (stats.depth, stats.dlq_depth) == (0, 0)


async def test_retries_exhausted_goes_to_dlq_with_envelope(harness, subject, job_class, until):
    h = harness()
    job = job_class(Flaky, subject(), fail_times=99, retries=2, backoff=FAST, calls={})
    published = await h.queue.enqueue(job, {"order": 7, "name": "ü"})
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    fail = h.named("fail")[0]
    assert fail.phase == "run" and str(fail.error) == "attempt 3 failed"
    assert h.named("dlq")[0].dlq_subject == f"{job.subject}.dlq"
    [letter] = await h.bus.dead_letters(job.subject)
    envelope = letter.envelope
    assert envelope["original_subject"] == job.subject
    assert envelope["delivery_count"] == 1
    assert envelope["payload"] == {"order": 7, "name": "ü"}
    assert envelope["error"]["name"] == "RuntimeError"
    assert envelope["error"]["message"] == "attempt 3 failed"
    assert "Traceback" in envelope["error"]["stack"]
    assert envelope["failed_at"].endswith("+00:00")
    assert job.calls[published.seq] == 3
    await until(lambda: True)
    assert (await h.bus.stats(job.subject)).depth == 0


async def test_dlq_stack_is_truncated(harness, subject, job_class, until):
    class Loud(Job):
        subject = "abstract.loud"

        async def run(self, payload, ctx):
            raise ValueError("x" * 10_000)

    h = harness()
    job = job_class(Loud, subject(), retries=0)
    await h.queue.enqueue(job, None)
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    [letter] = await h.bus.dead_letters(job.subject)
    assert len(letter.envelope["error"]["stack"]) <= 4000 + len("…(truncated)")


class Slow(Job):
    subject = "abstract.slow"
    sleep_s = 0.5
    fail_after = False
    started: list

    async def run(self, payload, ctx):
        type(self).started.append(ctx.delivery_count)
        await asyncio.sleep(type(self).sleep_s)
        if type(self).fail_after:
            raise RuntimeError("late failure")
        return "finished"


async def test_timeout_fails_to_dlq_and_reports_the_abandoned_run(
    harness, subject, job_class, until
):
    h = harness()
    job = job_class(Slow, subject(), timeout_ms=150, sleep_s=0.6, fail_after=True, started=[])
    await h.queue.enqueue(job, {"k": 1})
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    first = h.named("fail")[0]
    assert first.phase == "run" and isinstance(first.error, JobTimeoutError)
    [letter] = await h.bus.dead_letters(job.subject)
    assert letter.envelope["error"]["name"] == "JobTimeoutError"
    await until(lambda: h.named("fail", phase="abandoned-run"))
    assert str(h.named("fail", phase="abandoned-run")[0].error) == "late failure"
    assert not h.named("done")
    assert job.started == [1]  # acked via the DLQ: never redelivered


async def test_a_retry_the_timeout_preempts_is_never_announced(harness, subject, job_class, until):
    h = harness()
    slow_backoff = Backoff(initial_ms=600, max_ms=600, jitter=False)
    job = job_class(
        Flaky, subject(), fail_times=99, retries=2, backoff=slow_backoff, timeout_ms=200, calls={}
    )
    published = await h.queue.enqueue(job, None)
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    await until(lambda: h.named("fail", phase="abandoned-run"), within=5)
    assert job.calls == {published.seq: 1}  # the timeout fell in the first backoff
    assert h.named("retry") == []  # so no attempt was announced that never ran


async def test_msg_id_deduplicates_within_the_window(harness, subject, job_class, until):
    h = harness()
    job = job_class(Flaky, subject(), calls={})
    first = await h.queue.enqueue(job, {"a": 1}, msg_id="order-1")
    again = await h.queue.enqueue(job, {"a": 1}, msg_id="order-1")
    other = await h.queue.enqueue(job, {"a": 2}, msg_id="order-2")
    plain = await h.queue.enqueue(job, {"a": 3})
    assert first.duplicate is False  # JetStream says None on a first publish
    assert again.duplicate is True and again.seq == first.seq
    assert other.duplicate is False and other.seq != first.seq
    assert plain.duplicate is False
    assert (await h.bus.stats(job.subject)).depth == 3


async def test_heartbeat_keeps_a_long_job_from_redelivery(harness, subject, job_class, until):
    h = harness(ack_wait_ms=1_000, heartbeat_ms=300)
    job = job_class(Slow, subject(), sleep_s=2.5, started=[])
    await h.queue.enqueue(job, None)
    await h.consume(job, concurrency=2)
    await until(lambda: h.named("done"), within=10)
    await asyncio.sleep(0.3)
    assert job.started == [1]
    assert len(h.named("start")) == 1


async def test_without_heartbeat_a_long_job_is_redelivered(harness, subject, job_class, until):
    """The control for the heartbeat test: the same job outlives a lease nobody renews."""
    h = harness(ack_wait_ms=1_000, heartbeat_ms=999)
    job = job_class(Slow, subject(), sleep_s=2.5, started=[])
    consumption = await h.consume(job, concurrency=2)
    consumption._heartbeat_task.cancel()
    await h.queue.enqueue(job, None)
    await until(lambda: len(job.started) >= 2, within=10)
    # redelivered while the first run still sleeps: the lease lapsed (the heartbeat test,
    # above, sees one start only)
    assert job.started[0] == 1
    # nats-server < 2.10.14 may report this redelivery as 1 again: when the lease lapses in the
    # instant our 1 s pull request has expired but is not yet swept (likelier under load), it
    # steps back and resends the message as new (nats-io/nats-server#5305, reproduced in
    # test_nats_delivery_count.py)
    server = getattr(getattr(h.bus, "nc", None), "connected_server_version", None)
    if server is None or (server.major, server.minor, server.patch) >= (2, 10, 14):
        assert job.started[1] == 2


async def test_dlq_publish_failure_naks_with_the_computed_delay(harness, subject, job_class, until):
    h = harness(max_deliver=3)
    job = job_class(Flaky, subject(), fail_times=1, retries=0, calls={})
    await h.queue.ensure(job.subject)
    await _break_dlq(h.bus, job.subject)
    published = await h.queue.enqueue(job, {"x": 1})
    await h.consume(job)
    await until(lambda: h.named("fail", phase="dlq-publish"), within=10)
    event = h.named("fail", phase="dlq-publish")[0]
    assert event.nak_delay_ms == nak_delay_ms(1) == 1000
    assert (await h.bus.stats(job.subject)).depth == 1  # kept, not acked
    # the nak's delay passes, delivery 2 runs and succeeds (fail_times=1)
    await until(lambda: h.named("done"), within=10)
    assert h.named("done")[0].seq == published.seq
    assert [e.delivery_count for e in h.named("start")] == [1, 2]


def test_nak_delay_grows_and_is_capped():
    assert [nak_delay_ms(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [
        1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]  # fmt: skip


async def test_last_delivery_with_dlq_down_is_left_unacked_as_orphan(
    harness, subject, job_class, until
):
    h = harness(max_deliver=1)
    job = job_class(Flaky, subject(), fail_times=99, retries=0, calls={})
    await h.queue.ensure(job.subject)
    await _break_dlq(h.bus, job.subject)
    await h.queue.enqueue(job, {"x": 1})
    await h.consume(job)
    await until(lambda: h.named("fail", phase="dlq-orphan"), within=10)
    assert h.named("fail", phase="max-deliver")
    assert not h.named("fail", phase="dlq-publish")
    await asyncio.sleep(0.3)
    assert (await h.bus.stats(job.subject)).depth == 1  # still in the work stream


async def test_failure_on_the_last_delivery_is_phase_max_deliver(
    harness, subject, job_class, until
):
    h = harness(max_deliver=1)
    job = job_class(Flaky, subject(), fail_times=99, retries=0, calls={})
    await h.queue.enqueue(job, None)
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    assert [e.phase for e in h.named("fail")] == ["max-deliver"]


async def test_undecodable_message_goes_to_dlq_raw(harness, subject, job_class, until):
    h = harness()
    job = job_class(Flaky, subject(), calls={})
    await h.queue.ensure(job.subject)
    await h.bus.publish(job.subject, b"\xffnot json")
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    assert h.named("fail")[0].phase == "decode"
    [letter] = await h.bus.dead_letters(job.subject)
    assert letter.envelope["payload"] == "\ufffdnot json"
    assert letter.envelope["error"]["name"] == "JobPayloadError"


async def test_concurrency_caps_runs_in_flight(harness, subject, job_class, until):
    running = {"now": 0, "max": 0}

    class Counting(Job):
        subject = "abstract.counting"

        async def run(self, payload, ctx):
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            await asyncio.sleep(0.15)
            running["now"] -= 1

    h = harness()
    job = job_class(Counting, subject(), concurrency=2)
    await h.queue.enqueue_many(job, range(6))
    await h.consume(job)
    await until(lambda: len(h.named("done")) == 6)
    assert running["max"] == 2


async def test_a_changed_concurrency_updates_the_existing_consumer(
    harness, subject, job_class, until
):
    """Binding to an existing durable would keep its old max_ack_pending: it must be updated."""
    running = {"now": 0, "max": 0}

    class Counting(Job):
        subject = "abstract.counting2"

        async def run(self, payload, ctx):
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            await asyncio.sleep(0.2)
            running["now"] -= 1

    h = harness()
    job = job_class(Counting, subject(), concurrency=1)
    consumption = await h.consume(job)
    await consumption.stop(deadline_s=1)
    h.consumptions.remove(consumption)
    await h.queue.enqueue_many(job, range(8))
    await h.consume(job_class(Counting, job.subject, concurrency=4))
    await until(lambda: len(h.named("done")) == 8)
    assert running["max"] == 4


async def test_every_enqueued_job_is_done_or_dead(harness, subject, job_class, until):
    class Mixed(Job):
        subject = "abstract.mixed"
        retries = 1
        backoff = FAST

        async def run(self, payload, ctx):
            if payload % 3 == 0:
                raise ValueError(f"bad {payload}")
            return payload

    h = harness()
    job = job_class(Mixed, subject(), concurrency=8)
    n = 60
    await h.queue.enqueue_many(job, range(n))
    await h.consume(job)
    await until(lambda: len(h.named("done")) + len(h.named("dlq")) == n, within=20)
    assert len(h.named("dlq")) == 20
    assert sorted(e.result for e in h.named("done")) == [i for i in range(n) if i % 3]
    await asyncio.sleep(0.1)
    stats = await h.bus.stats(job.subject)
    assert (stats.depth, stats.dlq_depth) == (0, 20)


async def test_a_raising_listener_changes_nothing(harness, subject, job_class, until):
    h = harness()

    def boom(event):
        raise RuntimeError("listener bug")

    for name in ("dispatch", "start", "done"):
        h.queue.events.on(name, boom)
    job = job_class(Flaky, subject(), calls={})
    await h.queue.enqueue(job, 5)
    await h.consume(job)
    await until(lambda: h.named("done"))
    await asyncio.sleep(0.1)
    assert (await h.bus.stats(job.subject)).depth == 0


async def test_stream_check_is_shared_and_failures_are_not_cached(
    harness, subject, job_class, until
):
    h = harness()
    calls = []
    real = h.bus.ensure_streams
    failing = {"on": True}

    async def counted(subj, limits):
        calls.append(subj)
        await asyncio.sleep(0.05)
        if failing["on"]:
            raise ConnectionError("store down")
        await real(subj, limits)

    h.bus.ensure_streams = counted
    job = job_class(Flaky, subject(), calls={})
    results = await asyncio.gather(
        *(h.queue.enqueue(job, i) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert len(calls) == 1  # five concurrent first calls shared one check
    failing["on"] = False
    await asyncio.gather(*(h.queue.enqueue(job, i) for i in range(5)))
    await h.queue.enqueue(job, 6)
    assert len(calls) == 2  # the failure was not cached; the success is


async def test_replay_moves_dead_letters_back(harness, subject, job_class, until):
    class FailsOnce(Job):
        subject = "abstract.fails_once"
        failed = False

        async def run(self, payload, ctx):
            if not FailsOnce.failed:
                FailsOnce.failed = True
                raise RuntimeError("first run fails")
            return payload

    h = harness()
    job = job_class(FailsOnce, subject(), retries=0)
    await h.queue.enqueue(job, {"v": 1})
    await h.consume(job)
    await until(lambda: h.named("dlq"))
    [letter] = await h.bus.dead_letters(job.subject)
    data = json.dumps(letter.envelope["payload"]).encode()
    await h.bus.publish(job.subject, data, f"replay-{letter.seq}")
    await h.bus.delete_dead_letter(job.subject, letter.seq)
    await until(lambda: h.named("done"))
    assert h.named("done")[0].result == {"v": 1}
    assert await h.bus.dead_letters(job.subject) == []
    assert await h.bus.purge_dead_letters(job.subject) == 0


async def _break_dlq(bus, subject):
    """Make the DLQ unusable the way it happens in production: its stream is gone."""
    if hasattr(bus, "js"):
        await bus.js.delete_stream(bus.dlq_stream_name(subject))
    else:
        name = bus.dlq_stream_name(subject)
        await bus._call(
            bus._write,
            lambda db: db.execute("DELETE FROM mega_job_streams WHERE name = ?", (name,)),
        )


async def test_dlq_limits_apply_when_the_stream_is_created(bus, subject, job_class, until):
    """dlq_max_bytes caps the DLQ (oldest dropped); max age is set on the stream (NATS) or
    enforced on insert (local)."""

    class Fails(Job):
        subject = "abstract.fails"
        retries = 0

        async def run(self, payload, ctx):
            raise RuntimeError("no")

    from mega.plugins.jobs import Consumption, JobQueue

    queue = JobQueue(bus, dlq_max_bytes=4_000, dlq_max_age_ms=3_600_000)
    dead = []
    queue.events.on("dlq", dead.append)
    job = job_class(Fails, subject())
    await queue.enqueue_many(job, [{"pad": "x" * 300, "i": i} for i in range(10)])
    consumption = await Consumption.start(queue, job, lambda d: d)
    await until(lambda: len(dead) == 10)
    await consumption.stop(deadline_s=1)
    letters = await bus.dead_letters(job.subject)
    assert 0 < len(letters) < 10  # each envelope is > 1 kB: the cap dropped the oldest
    assert letters[-1].envelope["payload"]["i"] == 9
    if hasattr(bus, "js"):
        config = (await bus.js.stream_info(bus.dlq_stream_name(job.subject))).config
        assert (config.max_age, config.max_bytes) == (3600.0, 4000)
    assert await bus.purge_dead_letters(job.subject) == len(letters)
    assert await bus.dead_letters(job.subject) == []
