"""The redis store (session and cache kinds) against the real server: values, TTL, incr."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mega import MegaError
from mega.plugins.redis.store import RedisStore, RedisStoreOptions
from mega.testing.services import require


@pytest.fixture
async def stores():
    require("redis")
    prefix = f"mega-test:{uuid.uuid4().hex[:10]}:"
    opened = [RedisStore(alias="t", options=RedisStoreOptions(key_prefix=prefix)) for _ in "ab"]
    for store in opened:
        await store.connect()
    yield opened
    for store in opened:
        await store.close()


async def test_values_round_trip_between_clients(stores):
    first, second = stores
    await first.set("k", {"n": 1}, ttl_ms=10_000)
    assert await second.get("k") == {"n": 1}
    assert await second.delete("k") is True
    assert await first.get("k", "gone") == "gone"


async def test_incr_is_atomic_between_clients_and_counts_in_a_fixed_window(stores):
    first, second = stores
    results = await asyncio.gather(
        *(store.incr("attempts", ttl_ms=300) for store in [first, second] * 30)
    )
    assert sorted(results) == list(range(1, 61))
    assert await second.get("attempts") == 60  # readable with get, as JSON
    await asyncio.sleep(0.4)
    assert await first.incr("attempts", ttl_ms=300) == 1


async def test_incr_on_a_value_that_is_not_an_integer_names_the_key(stores):
    await stores[0].set("name", "ada")
    with pytest.raises(MegaError) as err:
        await stores[0].incr("name")
    assert err.value.code == "cache.not_integer"
    assert "'name'" in err.value.message
