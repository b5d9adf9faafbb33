"""Conformance kit for lock drivers: every driver of the ``lock`` kind must pass it.

A driver's test module imports the tests and provides one fixture, ``lock_factory``: an async
callable returning a new, connected lock adapter on the shared backend (call it twice to get two
independent holders, as two processes would be). ``connected_locks`` builds one and closes every
lock it made::

    from mega.testing.lock_suite import *  # noqa: F403
    from mega.testing.lock_suite import connected_locks

    @pytest.fixture
    async def lock_factory(tmp_path):
        options = MyLockOptions(...)
        async with connected_locks(lambda: MyLock(alias="t", options=options)) as make:
            yield make
        # remove what the test left on the backend here
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mega.errors import MegaConfigError
from mega.locks import MIN_TTL_MS, Lock, LockBusy

LockFactory = Callable[[], Awaitable[Lock]]


@contextlib.asynccontextmanager
async def connected_locks(build: Callable[[], Lock]) -> AsyncIterator[LockFactory]:
    """Yield ``make``: each call builds a lock with ``build()`` and connects it; every lock made is
    closed when the block ends."""
    made: list[Lock] = []

    async def make() -> Lock:
        lock = build()
        await lock.connect()
        made.append(lock)
        return lock

    try:
        yield make
    finally:
        for lock in made:
            await lock.close()


def _key() -> str:
    return f"suite:{uuid.uuid4().hex}"


async def test_lock_a_free_lock_is_acquired_once(lock_factory: LockFactory) -> None:
    first, second = await lock_factory(), await lock_factory()
    key = _key()
    held = await first.try_acquire(key, ttl_ms=2_000)
    assert held is not None and held.token > 0
    assert await second.try_acquire(key, ttl_ms=2_000) is None
    assert await first.try_acquire(key, ttl_ms=2_000) is None  # not re-entrant either
    await held.release()
    again = await second.try_acquire(key, ttl_ms=2_000)
    assert again is not None
    await again.release()


async def test_lock_tokens_strictly_increase_across_holders(lock_factory: LockFactory) -> None:
    holders = [await lock_factory() for _ in range(3)]
    fence = _key()
    tokens = []
    for i in range(9):
        held = await holders[i % 3].try_acquire(f"{fence}:{i}", ttl_ms=2_000, fence=fence)
        assert held is not None
        tokens.append(held.token)
        await held.release()
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)


async def test_lock_expires_after_its_ttl_when_not_extended(lock_factory: LockFactory) -> None:
    first, second = await lock_factory(), await lock_factory()
    key = _key()
    held = await first.try_acquire(key, ttl_ms=MIN_TTL_MS)
    assert held is not None
    await held._stop_extending()  # a holder that froze: nothing extends the lock any more
    await asyncio.sleep(MIN_TTL_MS / 1000 + 0.3)
    taken = await second.try_acquire(key, ttl_ms=2_000)
    assert taken is not None and taken.token > held.token
    await taken.release()


async def test_lock_is_extended_while_held(lock_factory: LockFactory) -> None:
    first, second = await lock_factory(), await lock_factory()
    key = _key()
    async with first.hold(key, ttl_ms=MIN_TTL_MS) as held:
        await asyncio.sleep(MIN_TTL_MS / 1000 * 3)
        assert not held.lost.is_set()
        assert await second.try_acquire(key, ttl_ms=2_000) is None


async def test_lock_release_with_keep_holds_it_for_that_long(lock_factory: LockFactory) -> None:
    first, second = await lock_factory(), await lock_factory()
    key = _key()
    held = await first.try_acquire(key, ttl_ms=5_000)
    assert held is not None
    await held.release(keep_ms=700)
    assert await second.try_acquire(key, ttl_ms=2_000) is None
    await asyncio.sleep(1.0)
    taken = await second.try_acquire(key, ttl_ms=2_000)
    assert taken is not None
    await taken.release()


async def test_lock_release_of_a_lock_taken_over_does_not_free_the_new_holder(
    lock_factory: LockFactory,
) -> None:
    first, second, third = await lock_factory(), await lock_factory(), await lock_factory()
    key = _key()
    stale = await first.try_acquire(key, ttl_ms=MIN_TTL_MS)
    assert stale is not None
    await stale._stop_extending()
    await asyncio.sleep(MIN_TTL_MS / 1000 + 0.3)
    current = await second.try_acquire(key, ttl_ms=5_000)
    assert current is not None
    await stale.release()  # compare-and-delete: the token no longer matches
    assert await third.try_acquire(key, ttl_ms=2_000) is None
    await current.release()


async def test_lock_hold_raises_busy_when_taken(lock_factory: LockFactory) -> None:
    first, second = await lock_factory(), await lock_factory()
    key = _key()
    async with first.hold(key, ttl_ms=2_000):
        with pytest.raises(LockBusy) as err:
            async with second.hold(key, ttl_ms=2_000):
                pass
        assert err.value.code == "lock.busy"


async def test_lock_rejects_a_ttl_too_short_to_extend(lock_factory: LockFactory) -> None:
    lock = await lock_factory()
    with pytest.raises(MegaConfigError) as err:
        await lock.try_acquire(_key(), ttl_ms=100)
    assert err.value.code == "lock.invalid_ttl"
