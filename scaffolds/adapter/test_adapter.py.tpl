import asyncio

import pytest

from mega_{{ snake }} import {{ Name }}Cache, {{ Name }}Options


async def test_{{ snake }}_cache_round_trips_values_under_its_prefix():
    cache = {{ Name }}Cache(alias="default", options={{ Name }}Options(prefix="t:"))
    await cache.connect()
    await cache.set("k", {"v": 1})
    assert await cache.get("k") == {"v": 1}
    assert await cache.get("missing", "fallback") == "fallback"
    await cache.close()
    with pytest.raises(RuntimeError, match="not connected"):
        await cache.get("k")


async def test_{{ snake }}_cache_counts_atomically_and_expires():
    cache = {{ Name }}Cache(alias="default", options={{ Name }}Options())
    await cache.connect()
    assert await cache.incr("hits") == 1
    assert await cache.incr("hits", 2) == 3
    assert await cache.delete("hits") is True
    assert await cache.delete("hits") is False
    await cache.set("gone", 1, ttl_ms=1)
    await asyncio.sleep(0.01)
    assert await cache.get("gone") is None
    await cache.close()
