"""Redlock over three masters: a majority decides; tokens keep increasing as quorums change."""

from __future__ import annotations

import pytest

from mega import LockBackendError
from mega.plugins.redis import RedisLock, RedisLockOptions


@pytest.fixture
def masters(own_redis_factory):
    return [own_redis_factory() for _ in range(3)]


async def connect(masters):
    lock = RedisLock(
        alias="rl", options=RedisLockOptions(urls=[m.url for m in masters], op_timeout_ms=200)
    )
    await lock.connect()
    return lock


async def test_a_majority_of_masters_is_enough_and_tokens_keep_increasing(masters):
    a, b = await connect(masters), await connect(masters)
    tokens = []
    try:
        for down in (None, 0, 1, 2):
            if down is not None:
                masters[down].stop()
            held = await a.try_acquire("job", ttl_ms=2_000)
            assert held is not None, f"no quorum with master {down} down"
            assert await b.try_acquire("job", ttl_ms=2_000) is None
            tokens.append(held.token)
            await held.release()
            if down is not None:
                masters[down].start()
    finally:
        await a.close()
        await b.close()
    assert tokens == sorted(tokens) and len(set(tokens)) == 4


async def test_without_a_majority_the_backend_error_is_raised_not_a_false_busy(masters):
    lock = await connect(masters)
    try:
        masters[0].stop()
        masters[1].stop()
        with pytest.raises(LockBackendError) as err:
            await lock.try_acquire("job", ttl_ms=2_000)
        assert "2 of 3 masters failed" in err.value.message
    finally:
        await lock.close()
        masters[0].start()
        masters[1].start()
