"""The first-party ``memory`` cache driver: TTL, LRU eviction, deletion."""

from __future__ import annotations

import asyncio

import pytest

from mega import MegaError
from mega.plugins.memory import MemoryCache, MemoryCacheOptions


@pytest.fixture
async def cache():
    cache = MemoryCache(alias="t", options=MemoryCacheOptions(max_entries=3))
    await cache.connect()
    yield cache
    await cache.close()


async def test_values_round_trip_and_missing_keys_return_the_default(cache):
    await cache.set("a", {"n": 1})
    assert await cache.get("a") == {"n": 1}
    assert await cache.get("nope", "dflt") == "dflt"


async def test_entries_expire_after_their_ttl(cache):
    await cache.set("short", 1, ttl_ms=20)
    await cache.set("long", 2, ttl_ms=10_000)
    await asyncio.sleep(0.05)
    assert await cache.get("short") is None
    assert await cache.get("long") == 2


async def test_the_least_recently_used_entry_is_evicted_past_max_entries(cache):
    for key in "abc":
        await cache.set(key, key)
    await cache.get("a")  # a is now the most recently used
    await cache.set("d", "d")
    assert await cache.get("b") is None
    assert [await cache.get(k) for k in "acd"] == ["a", "c", "d"]


async def test_delete_reports_whether_the_key_was_there(cache):
    await cache.set("k", 0)
    assert await cache.delete("k") is True
    assert await cache.delete("k") is False


async def test_a_negative_ttl_is_rejected(cache):
    with pytest.raises(MegaError) as err:
        await cache.set("k", 1, ttl_ms=-1)
    assert err.value.code == "cache.invalid_ttl"


async def test_default_ttl_applies_when_set_gets_none():
    cache = MemoryCache(alias="t", options=MemoryCacheOptions(default_ttl_ms=10))
    await cache.connect()
    await cache.set("k", 1)
    await asyncio.sleep(0.03)
    assert await cache.get("k") is None


async def test_incr_counts_in_a_fixed_window_from_the_first_increment(cache):
    assert [await cache.incr("hits", ttl_ms=60) for _ in range(3)] == [1, 2, 3]
    assert await cache.incr("hits", 5) == 8
    await asyncio.sleep(0.08)  # later increments did not extend the window
    assert await cache.get("hits") is None
    assert await cache.incr("hits", ttl_ms=60) == 1


async def test_incr_on_a_value_that_is_not_an_integer_names_the_key(cache):
    await cache.set("name", "ada")
    with pytest.raises(MegaError) as err:
        await cache.incr("name")
    assert err.value.code == "cache.not_integer"
    assert "'name'" in err.value.message and "str" in err.value.message
