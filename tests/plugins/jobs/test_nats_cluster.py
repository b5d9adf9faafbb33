"""Jobs on a three-server NATS cluster: streams with ``replicas = 3``, and the server leading the
work stream SIGKILLed, then restarted, while the test enqueues and two `mega worker` processes
consume. Nothing is lost, nothing is stored twice, a job runs twice only inside the documented
at-least-once window, and the DLQ stays empty (docs/plugins/jobs.md, "Running on a NATS
cluster")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from mega import MegaConfigError
from mega.plugins.jobs import Job, JobQueue, NatsBus, NatsOptions

#: jobs enqueued and consumed across the failover: the issue's 5 000 (the whole test, cluster
#: start to cleanup, takes 14-22 s on 2 busy cores; the election alone is 4.5-9 s of it)
N = 5_000
#: the job's group-wide concurrency (max_ack_pending): at most this many deliveries are
#: unacknowledged at any moment, which bounds what a failover can hand out twice
CONCURRENCY = 32
#: enqueuers running at once in the test
PRODUCERS = 8
SUBJECT = "cluster.mark"

JOB = f'''
import os
from mega.plugins.jobs import Job

EFFECTS = os.environ["JOB_EFFECTS"]


class Mark(Job):
    """Its effect: one line per run, "<id> <seq> <delivery>", in this process's own file."""

    subject = "{SUBJECT}"
    concurrency = {CONCURRENCY}
    retries = 0

    async def run(self, payload, ctx):
        with open(f"{{EFFECTS}}/{{os.getpid()}}.log", "a") as effects:
            effects.write(f"{{payload['id']}} {{ctx.seq}} {{ctx.delivery_count}}\\n")
'''


class Mark(Job):
    """The in-test twin of the project's job, used to enqueue."""

    subject = SUBJECT


def write_project(root: Path, urls: list[str]) -> None:
    (root / "apps" / "main" / "jobs").mkdir(parents=True)
    (root / "apps" / "__init__.py").write_text("")
    (root / "apps" / "main" / "__init__.py").write_text("")
    (root / "apps" / "main" / "jobs" / "mark.py").write_text(JOB)
    servers = ", ".join(f'"{url}"' for url in urls)
    (root / "mega.toml").write_text(
        '[app]\nname = "cluster"\nplugins = ["jobs"]\nshutdown_timeout_ms = 20000\n\n'
        "[plugins.jobs]\nack_wait_ms = 2000\ndrain_timeout_ms = 5000\n\n"
        f'[adapters.bus.default]\ndriver = "nats"\nservers = [{servers}]\nreplicas = 3\n'
        "reconnect_wait_ms = 100\n"
    )


def drain(proc: subprocess.Popen[str], lines: list[str]) -> None:
    """Keep reading a worker's log so a chatty failover never blocks it on a full pipe."""

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()


def effects(folder: Path) -> list[tuple[int, int, int]]:
    runs = []
    for path in folder.glob("*.log"):
        for line in path.read_text().splitlines():
            job_id, seq, delivery = line.split()
            runs.append((int(job_id), int(seq), int(delivery)))
    return runs


async def still_stored(bus: NatsBus, stream: str) -> dict[int, int]:
    """The messages left in the work stream: seq -> job id."""
    state = (await bus.js.stream_info(stream)).state
    left = {}
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        with contextlib.suppress(bus.errors.NotFoundError):
            left[seq] = json.loads((await bus.js.get_msg(stream, seq)).data)["id"]
    return left


async def leaders(bus: NatsBus, stream: str) -> tuple[str | None, str | None]:
    """The servers leading ``stream`` and its workers' consumer (None while there is none)."""
    try:
        async with asyncio.timeout(1.0):
            info = await bus.js.stream_info(stream)
            consumer = await bus.js.consumer_info(stream, f"{stream}_WORKERS")
    except Exception:
        return None, None
    return info.cluster.leader, consumer.cluster.leader if consumer.cluster else None


async def step_down_until(bus: NatsBus, stream: str, target: str) -> None:
    """Move the stream's and the consumer's leaders to ``target`` (each step down elects one
    of the other replicas at random), so the server killed also holds the producer's
    connection and the consumer: every kind of failover at once."""
    for api, which in (
        (f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", 0),
        (f"$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{stream}_WORKERS", 1),
    ):
        for _ in range(12):
            current = (await leaders(bus, stream))[which]
            if current == target:
                break
            if current is not None:
                await bus.nc.request(api, b"", timeout=2)
            await asyncio.sleep(0.3)


@pytest.mark.timeout(150)
async def test_a_killed_stream_leader_loses_no_job_and_runs_none_twice_beyond_the_window(
    own_nats_cluster, tmp_path, start_mega_run, until
):
    cluster = own_nats_cluster
    bus = NatsBus(
        alias="default",
        options=NatsOptions(servers=cluster.urls, replicas=3, reconnect_wait_ms=100),
    )
    await bus.connect()
    queue = JobQueue(bus, ack_wait_ms=2_000)
    await queue.ensure(SUBJECT)
    stream = bus.stream_name(SUBJECT)
    info = await bus.js.stream_info(stream)
    assert info.config.num_replicas == 3 and len(info.cluster.replicas) == 2
    assert (await bus.js.stream_info(bus.dlq_stream_name(SUBJECT))).config.num_replicas == 3

    root = tmp_path / "proj"
    write_project(root, cluster.urls)
    folder = tmp_path / "effects"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
    env["JOB_EFFECTS"] = str(folder)
    logs: list[list[str]] = [[], []]
    workers = await asyncio.gather(
        *(asyncio.to_thread(start_mega_run, root, env, ("worker",), "worker ready") for _ in logs)
    )
    for proc, lines in zip(workers, logs, strict=True):
        drain(proc, lines)

    victim = next(s for s in cluster.servers if s.port == bus.nc.connected_url.port)
    await step_down_until(bus, stream, victim.name)
    placed = await leaders(bus, stream)

    # enqueue N jobs from PRODUCERS tasks, timing each; the victim dies a third of the way in
    ids = iter(range(N))
    timings: list[tuple[float, float]] = []  # (start, seconds) per enqueue
    seqs: dict[int, int] = {}

    async def produce() -> None:
        for job_id in ids:
            started = time.monotonic()
            published = await queue.enqueue(Mark, {"id": job_id})
            timings.append((started, time.monotonic() - started))
            seqs[job_id] = published.seq

    producing = asyncio.gather(*(produce() for _ in range(PRODUCERS)))
    try:
        await until(lambda: len(seqs) >= N // 3, within=60)
        killed_at = time.monotonic()
        victim.kill()
        new_leader = None
        while new_leader is None and time.monotonic() - killed_at < 30:
            new_leader = (await leaders(bus, stream))[0]
            await asyncio.sleep(0.1)
        elected_in = time.monotonic() - killed_at
        await asyncio.to_thread(victim.start)
        restarted_in = time.monotonic() - killed_at
        async with asyncio.timeout(60):
            await producing
        await until(lambda: {run[0] for run in effects(folder)} >= set(range(N)), within=60)
        done_in = time.monotonic() - killed_at
        # acks are fire and forget: give the last ones a moment to empty the stream
        stats = await bus.stats(SUBJECT)
        deadline = time.monotonic() + 10
        while stats.depth and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            stats = await bus.stats(SUBJECT)
        left = await still_stored(bus, stream)
        floor = (await bus.js.consumer_info(stream, f"{stream}_WORKERS")).ack_floor.stream_seq
    finally:
        producing.cancel()
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
        exits = [await asyncio.to_thread(proc.wait, 30) for proc in workers]
        await bus.close()

    runs = effects(folder)
    by_id: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for job_id, seq, delivery in runs:
        by_id[job_id].append((seq, delivery))
    twice = {job_id: r for job_id, r in by_id.items() if len(r) > 1}
    during = [took for started, took in timings if started >= killed_at - 5]
    reconnected = [sum('"bus.reconnected"' in line for line in lines) for lines in logs]
    report = {
        "N": N,
        "leaders (stream, consumer) before the kill": placed,
        "killed": victim.name,
        "new stream leader": new_leader,
        "elected in s": round(elected_in, 2),
        "restarted after s": round(restarted_in, 2),
        "all done after s": round(done_in, 2),
        "enqueue p50 / p99 / max ms": tuple(
            round(x * 1000, 1)
            for x in (
                statistics.median(took for _s, took in timings),
                statistics.quantiles([took for _s, took in timings], n=100)[98],
                max(took for _s, took in timings),
            )
        ),
        "enqueues over 1 s": sum(took > 1 for _s, took in timings),
        "enqueues from 5 s before the kill, max ms": round(max(during) * 1000, 1),
        "jobs run twice": len(twice),
        "acked but left in the stream": sorted(left.items()),
        "their deliveries": sorted(Counter(d for r in twice.values() for _s, d in r).items()),
        "worker reconnects": reconnected,
        "worker consume-loop failures": [
            sum('"consume-loop"' in line for line in lines) for lines in logs
        ],
    }
    print("\nNATS cluster failover:", report)

    assert exits == [0, 0]
    assert len(seqs) == N and len(set(seqs.values())) == N  # every enqueue stored, once
    assert set(by_id) == set(range(N))  # no job lost
    # a job that ran twice is one message delivered twice, never a message stored twice
    assert all(len({seq for seq, _d in r}) == 1 and r[0][0] == seqs[i] for i, r in by_id.items())
    # the at-least-once window: a delivery unacknowledged at the kill comes back (at most
    # CONCURRENCY of them), and so may one the old leader handed out in its last milliseconds
    assert len(twice) <= 2 * CONCURRENCY, report
    assert all(len(r) == 2 for r in twice.values()), report
    assert (stats.pending, stats.in_flight, stats.dlq_depth) == (0, 0, 0), stats
    # nats-server 2.9 may leave a few acked messages in a replicated work stream after a leader
    # change (docs/plugins/jobs.md): below the consumer's ack floor, never delivered again, and
    # each one a job that already ran from that very message
    assert stats.depth == len(left) <= CONCURRENCY, report
    assert all(seq <= floor and seqs[job_id] == seq for seq, job_id in left.items()), report


# -- on one private server: the options and the retries a failover relies on -------------------


@pytest.mark.parametrize("replicas", [0, 6])
def test_replicas_outside_one_to_five_fail_the_boot_naming_the_key(replicas):
    from mega import App

    config = {
        "app": {"plugins": ["jobs"]},
        "adapters": {"bus": {"default": {"driver": "nats", "replicas": replicas}}},
    }
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config, environ={})
    assert err.value.code == "config.invalid_value"
    assert err.value.details["key"] == "adapters.bus.default.replicas"


async def test_more_replicas_than_servers_is_refused_and_an_existing_stream_is_kept(own_nats):
    one = NatsBus(alias="default", options=NatsOptions(servers=[own_nats.url]))
    three = NatsBus(alias="default", options=NatsOptions(servers=[own_nats.url], replicas=3))
    await one.connect()
    await three.connect()
    try:
        queue = JobQueue(three)
        with pytest.raises(MegaConfigError) as err:
            await queue.ensure("cluster.refused")
        assert err.value.code == "bus.stream_rejected"
        assert "replicas = 3 needs that many JetStream servers" in err.value.message
        # a stream that exists is used as it is (streams are never altered), with a warning
        await JobQueue(one).ensure("cluster.kept")
        await JobQueue(three).ensure("cluster.kept")
        assert (
            await three.js.stream_info(three.stream_name("cluster.kept"))
        ).config.num_replicas == 1
    finally:
        await one.close()
        await three.close()


async def test_a_publish_waits_out_a_server_restart_and_is_stored_once(own_nats):
    bus = NatsBus(
        alias="default",
        options=NatsOptions(servers=[own_nats.url], reconnect_wait_ms=100, request_timeout_ms=500),
    )
    await bus.connect()
    queue = JobQueue(bus)
    try:
        await queue.ensure(SUBJECT)
        await asyncio.to_thread(own_nats.stop)
        one = asyncio.ensure_future(queue.enqueue(Mark, {"id": 1}))
        many = asyncio.ensure_future(queue.enqueue_many(Mark, [{"id": i} for i in range(2, 52)]))
        await asyncio.sleep(1.5)  # several tries time out meanwhile
        assert not one.done() and not many.done()
        await asyncio.to_thread(own_nats.start)
        async with asyncio.timeout(20):
            published = [await one, *await many]
        assert len({p.seq for p in published}) == 51
        assert not any(p.duplicate for p in published)
        assert (await bus.stats(SUBJECT)).depth == 51  # each stored once
    finally:
        await bus.close()


async def test_a_publish_no_server_confirms_fails_after_publish_retry_ms_saying_so(own_nats):
    bus = NatsBus(
        alias="default",
        options=NatsOptions(servers=[own_nats.url], request_timeout_ms=300, publish_retry_ms=1_000),
    )
    await bus.connect()
    queue = JobQueue(bus)
    try:
        await queue.ensure(SUBJECT)
        await asyncio.to_thread(own_nats.stop)
        with pytest.raises(TimeoutError) as err:
            await queue.enqueue(Mark, {"id": 1}, msg_id="order-1")
        message = str(err.value)
        assert "no NATS server confirmed the publish on 'cluster.mark'" in message
        assert "publish_retry_ms (1000)" in message
        assert "it may have been stored (order-1)" in message
    finally:
        await bus.close()
