"""ConnectionPool: a fixed set of connections, handed out in arrival order, never leaked."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mega.errors import MegaLifecycleError
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


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    async def close(self) -> None:
        self.closed = True


async def test_close_closes_every_connection_leased_or_free_and_refuses_new_leases():
    made: list[Conn] = []

    async def open_connection():
        made.append(Conn(f"c{len(made)}"))
        return made[-1]

    pool = ConnectionPool(open_connection, 2)
    await pool.start()
    leases = [pool.acquire(), pool.acquire()]
    for lease in leases:
        await lease.__aenter__()
    waiting = [asyncio.create_task(pool.acquire().__aenter__()) for _ in range(2)]
    await asyncio.sleep(0)
    await pool.close()
    assert [c.closed for c in made] == [True, True] and pool.closed
    for task in waiting:  # those waiting for a connection are told, not left hanging
        with pytest.raises(MegaLifecycleError) as err:
            await task
        assert err.value.code == "db.not_connected"
    await leases[0].__aexit__(None, None, None)  # a lease ending after close is harmless
    with pytest.raises(MegaLifecycleError):
        async with pool.acquire():
            pass
    await pool.close()  # a second close does nothing
    assert pool.connections == [] and pool.idle == 0


async def test_close_uses_the_given_closer_and_start_cleans_up_a_failed_start():
    closed: list[str] = []
    opened = itertools.count()

    async def open_connection():
        n = next(opened)
        if n == 2:
            raise OSError("no more")
        return f"c{n}"

    async def close(connection):
        closed.append(connection)

    pool = ConnectionPool(open_connection, 3, close=close)
    with pytest.raises(OSError, match="no more"):
        await pool.start()
    assert closed == ["c0", "c1"] and pool.connections == []


async def test_replace_closes_the_broken_connection():
    made = itertools.count()
    closed: list[str] = []

    async def open_connection():
        return f"c{next(made)}"

    async def close(connection):
        closed.append(connection)

    pool = ConnectionPool(open_connection, 1, close=close)
    await pool.start()
    async with pool.acquire() as conn:
        fresh = await pool.replace(conn)
    assert closed == ["c0"] and pool.connections == [fresh] == ["c1"]


def test_a_pool_needs_a_connection():
    with pytest.raises(ValueError, match="size=0"):
        ConnectionPool(lambda: asyncio.sleep(0), 0)
