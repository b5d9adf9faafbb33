"""CPU worker pools: results, crash and timeout replacement, back-pressure, drain."""

from __future__ import annotations

import asyncio
import importlib
import os
import textwrap
import time
import uuid

import pytest

from mega import MegaConfigError
from mega.plugins.jobs import (
    Worker,
    WorkerBusyError,
    WorkerClosedError,
    WorkerCrashedError,
    WorkerPools,
    WorkerTimeoutError,
)

WORKERS = """
import os, time
from mega.plugins.jobs import Worker


class Compute(Worker):
    mode = "process"
    size = 2
    timeout_ms = 2_000

    def run(self, payload):
        if payload == "pid":
            return os.getpid()
        if payload == "crash":
            os._exit(3)
        if payload == "raise":
            raise ValueError("bad input")
        if isinstance(payload, float):
            time.sleep(payload)
            return payload
        return payload * payload


class Threaded(Worker):
    mode = "thread"
    size = 1
    queue_size = 1
    timeout_ms = 2_000

    def run(self, payload):
        time.sleep(payload)
        return payload
"""


@pytest.fixture
def workers(tmp_path, monkeypatch):
    """The module above, importable by spawned processes (they inherit sys.path)."""
    name = f"mega_test_workers_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(WORKERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


@pytest.fixture
async def pools():
    made = WorkerPools()
    yield made
    await made.close(deadline_s=1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_process_tasks_return_results_and_raise_their_errors(workers, pools):
    results = await asyncio.gather(*(pools.run(workers.Compute, n) for n in range(10)))
    assert results == [n * n for n in range(10)]
    with pytest.raises(ValueError, match="bad input"):
        await pools.run(workers.Compute, "raise")
    assert await pools.run("Compute", 3) == 9  # by name, once known


async def test_a_crashed_process_fails_its_task_and_is_replaced(workers, pools):
    pids = {await pools.run(workers.Compute, "pid") for _ in range(6)}
    with pytest.raises(WorkerCrashedError) as caught:
        await pools.run(workers.Compute, "crash")
    assert caught.value.code == "worker.crashed" and "Compute" in caught.value.message
    results = await asyncio.gather(*(pools.run(workers.Compute, n) for n in range(8)))
    assert results == [n * n for n in range(8)]  # the pool is whole again
    assert len(pools.pool(workers.Compute)._slots) == 2
    assert len(pids) <= 2


async def test_a_task_past_its_timeout_is_killed_and_its_process_replaced(workers, pools):
    pid = await pools.run(workers.Compute, "pid")
    started = time.monotonic()
    with pytest.raises(WorkerTimeoutError) as caught:
        await asyncio.gather(*(pools.run(workers.Compute, 30.0, timeout_ms=300) for _ in range(2)))
    assert time.monotonic() - started < 5
    assert caught.value.code == "worker.timeout" and "300 ms" in caught.value.message
    await asyncio.sleep(0.2)
    assert not alive(pid)
    assert await pools.run(workers.Compute, 4) == 16


async def test_a_task_queued_behind_a_crash_never_started_and_runs_elsewhere(workers, pools):
    # a slot holds the running task and the next (pipelining): when the running one crashes,
    # only it fails; the one queued behind it in that process runs on another
    pool = pools.pool(workers.Compute)
    await asyncio.gather(*(pools.run(workers.Compute, 0.0) for _ in range(2)))  # warm
    crash = asyncio.ensure_future(pools.run(workers.Compute, "crash"))
    others = [asyncio.ensure_future(pools.run(workers.Compute, n)) for n in range(1, 6)]
    await asyncio.sleep(0)
    assert max(len(slot.tasks) for slot in pool._slots) == 2  # queued behind, in a process
    with pytest.raises(WorkerCrashedError):
        await crash
    assert await asyncio.gather(*others) == [n * n for n in range(1, 6)]


async def test_a_timeout_counts_from_the_tasks_own_start_not_its_wait(workers, pools):
    # four 0.6 s tasks on 2 processes with a 1 s timeout: the second of each process waits 0.6 s
    # in its slot first, and must not be timed out for it
    results = await asyncio.gather(
        *(pools.run(workers.Compute, 0.6, timeout_ms=1_000) for _ in range(4))
    )
    assert results == [0.6] * 4


async def test_a_timed_out_task_fails_alone_and_the_one_behind_it_still_runs(workers, pools):
    slow = [asyncio.ensure_future(pools.run(workers.Compute, 30.0, timeout_ms=400))
            for _ in range(2)]  # fmt: skip
    behind = [asyncio.ensure_future(pools.run(workers.Compute, n)) for n in (3, 4)]
    for task in slow:
        with pytest.raises(WorkerTimeoutError):
            await task
    assert await asyncio.gather(*behind) == [9, 16]


async def test_thread_pool_timeout_abandons_the_thread(workers, pools):
    with pytest.raises(WorkerTimeoutError, match="abandoned"):
        await pools.run(workers.Threaded, 0.5, timeout_ms=100)


async def test_a_full_pool_holds_callers_back_or_refuses_with_wait_false(workers, pools):
    first = asyncio.ensure_future(pools.run(workers.Threaded, 0.4))
    second = asyncio.ensure_future(pools.run(workers.Threaded, 0.1))
    await asyncio.sleep(0.05)
    with pytest.raises(WorkerBusyError) as caught:
        await pools.run(workers.Threaded, 0.1, wait=False)
    assert caught.value.code == "worker.busy"
    third = asyncio.ensure_future(pools.run(workers.Threaded, 0.1))  # waits for room
    assert await asyncio.gather(first, second, third) == [0.4, 0.1, 0.1]


async def test_close_drains_running_tasks_then_refuses_new_ones(workers):
    pools = WorkerPools()
    await pools.run(workers.Compute, 1)  # started and warm
    running = [asyncio.ensure_future(pools.run(workers.Compute, 0.5)) for _ in range(2)]
    await asyncio.sleep(0.1)
    pool = pools.pool(workers.Compute)
    await pools.close(deadline_s=5)
    assert await asyncio.gather(*running) == [0.5, 0.5]
    with pytest.raises(WorkerClosedError):
        await pool.run(1)


@pytest.mark.parametrize(
    ("attrs", "code"),
    [
        ({"mode": "fiber"}, "worker.invalid_mode"),
        ({"size": 0}, "worker.invalid_size"),
        ({"timeout_ms": -1}, "worker.invalid_timeout"),
        ({"queue_size": -1}, "worker.invalid_queue_size"),
    ],
)
def test_bad_worker_declarations_fail_naming_the_worker(attrs, code):
    with pytest.raises(MegaConfigError) as caught:
        type("Resize", (Worker,), attrs)
    assert caught.value.code == code and "'Resize'" in caught.value.message


def test_an_unknown_worker_name_lists_the_known_ones(workers):
    from mega import MegaNotFoundError

    pools = WorkerPools([workers.Compute])
    with pytest.raises(MegaNotFoundError, match="no worker 'Resize'; workers of this app: Compute"):
        pools.pool("Resize")
