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
