"""ConnectionPool: a fixed set of connections, handed out in arrival order, never leaked."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mega.plugins.db import ConnectionPool


@pytest.fixture
async def pool():
    counter = itertools.count(1)

    async def open_connection():
        return f"conn-{next(counter)}"

    made = ConnectionPool(open_connection, 2)
    await made.start()
    return made


async def test_waiters_are_served_in_arrival_order(pool):
    order = []
    first, second = pool.acquire(), pool.acquire()
    await first.__aenter__()
    await second.__aenter__()

    async def user(name):
        async with pool.acquire() as conn:
            order.append((name, conn))

    tasks = [asyncio.create_task(user(n)) for n in "abc"]
    await asyncio.sleep(0)
    assert order == [] and pool.idle == 0
    await first.__aexit__(None, None, None)
    await second.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert [name for name, _ in order] == ["a", "b", "c"]
    assert pool.idle == 2


async def test_a_cancelled_waiter_does_not_take_a_connection_with_it(pool):
    held = [pool.acquire(), pool.acquire()]
    for lease in held:
        await lease.__aenter__()
    waiting = asyncio.create_task(pool.acquire().__aenter__())
    await asyncio.sleep(0)
    waiting.cancel()
    await held[0].__aexit__(None, None, None)  # released as the waiter goes away
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await held[1].__aexit__(None, None, None)
    assert pool.idle == 2
    async with pool.acquire() as conn:  # and the pool still hands out without waiting
        assert conn in {"conn-1", "conn-2"}


async def test_many_tasks_share_two_connections_without_overlap(pool):
    in_use: set[str] = set()
    overlaps = 0

    async def work():
        nonlocal overlaps
        async with pool.acquire() as conn:
            overlaps += conn in in_use
            in_use.add(conn)
            await asyncio.sleep(0)
            in_use.discard(conn)

    await asyncio.gather(*(work() for _ in range(200)))
    assert overlaps == 0 and pool.idle == 2
