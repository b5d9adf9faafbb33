"""A private redis-server hung, stopped and restarted: calls through a breaker fail fast while it
is down (instead of each waiting the store's timeout) and go through again once it is back."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from mega import MegaError
from mega.plugins.breaker import CLOSED, OPEN, BreakerOpen, breakers, guarded
from mega.testing import boot_app

TIMEOUT_MS = 300


def config(url: str) -> dict[str, object]:
    return {
        "app": {"plugins": ["redis", "breaker"]},
        "adapters": {"cache": {"default": {"driver": "redis", "url": url, "timeout_ms": 300}}},
        "plugins": {"breaker": {"redis": {"consecutive_failures": 2, "open_ms": 400}}},
    }


async def timed(coro: object) -> tuple[float, BaseException | None]:
    started = time.perf_counter()
    try:
        await coro  # type: ignore[misc]
    except Exception as exc:
        return time.perf_counter() - started, exc
    return time.perf_counter() - started, None


async def test_a_hung_redis_fails_fast_behind_its_breaker_and_recovers_after_restart(own_redis):
    async with boot_app(config(own_redis.url), environ={}) as app:
        cache, breaker = app.ctx().cache(), breakers(app).get("redis")
        await breaker.call(cache.set, "k", 1)
        assert await breaker.call(cache.get, "k") == 1

        assert own_redis.proc is not None
        os.kill(own_redis.proc.pid, signal.SIGSTOP)  # up but silent: every call waits
        try:
            slow = [await timed(breaker.call(cache.get, "k")) for _ in range(2)]
            fast = [await timed(breaker.call(cache.get, "k")) for _ in range(20)]
        finally:
            os.kill(own_redis.proc.pid, signal.SIGCONT)
        for took, exc in slow:
            assert isinstance(exc, MegaError) and exc.code == "store.unavailable"
            assert took >= TIMEOUT_MS / 1000 * 0.9
        assert breaker.state == OPEN
        for _took, exc in fast:
            assert isinstance(exc, BreakerOpen)  # refused: the store was never called

        own_redis.stop()  # down: connection refused
        await asyncio.sleep(0.45)
        took, exc = await timed(breaker.call(cache.get, "k"))  # the probe fails: open again
        assert isinstance(exc, MegaError) and exc.code == "store.unavailable"
        assert breaker.state == OPEN

        own_redis.start()  # same port, empty
        await asyncio.sleep(0.45)
        assert await breaker.call(cache.get, "k", 7) == 7  # the probe goes through
        assert breaker.state == CLOSED
        await breaker.call(cache.set, "k", 2)
        assert await breaker.call(cache.get, "k") == 2


async def test_the_breakers_own_timeout_counts_a_hung_call_as_a_failure(own_redis):
    cfg = config(own_redis.url)
    cfg["plugins"] = {"breaker": {"redis": {"consecutive_failures": 1, "timeout_ms": 100}}}
    async with boot_app(cfg, environ={}) as app:
        cache, breaker = app.ctx().cache(), breakers(app).get("redis")
        assert own_redis.proc is not None
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        try:
            _took, exc = await timed(breaker.call(cache.get, "k"))
        finally:
            os.kill(own_redis.proc.pid, signal.SIGCONT)
    assert isinstance(exc, TimeoutError)  # the breaker's own timeout, not store.unavailable
    assert breaker.state == OPEN


async def test_a_guarded_adapter_refuses_calls_while_open_but_not_health(own_redis):
    async with boot_app(config(own_redis.url), environ={}) as app:
        breaker = breakers(app).get("redis")
        cache = guarded(app.ctx().cache(), breaker)
        await cache.set("k", 1)
        assert await cache.get("k") == 1
        assert cache.options.timeout_ms == 300  # other attributes are the adapter's
        own_redis.stop()
        for _ in range(2):
            with pytest.raises(MegaError, match=r"store\.unavailable"):
                await cache.get("k")
        with pytest.raises(BreakerOpen):
            await cache.get("k")
        with pytest.raises(Exception) as health:
            await cache.health()  # readiness asks the server itself
        assert not isinstance(health.value, BreakerOpen)


async def test_a_breaker_attached_by_config_makes_a_downed_redis_fail_fast_for_every_caller(
    own_redis,
):
    # no code wraps anything: [adapters.cache.default] breaker = "redis" does it at boot
    cfg = config(own_redis.url)
    cfg["adapters"]["cache"]["default"]["breaker"] = "redis"  # type: ignore[index]
    async with boot_app(cfg, environ={}) as app:
        cache, breaker = app.ctx().cache(), breakers(app).get("redis")
        await cache.set("k", 1)
        assert await cache.get("k") == 1
        assert cache.options.timeout_ms == 300  # the driver's own attributes are still there
        assert app.adapters.options("cache", "default") == {"breaker": "redis"}
        own_redis.stop()
        for _ in range(2):
            with pytest.raises(MegaError, match=r"store\.unavailable"):
                await cache.get("k")
        assert breaker.state == OPEN
        _took, exc = await timed(cache.get("k"))
        assert isinstance(exc, BreakerOpen) and exc.http_status == 503  # never reached Redis
        own_redis.start()
        await asyncio.sleep(0.45)
        assert await cache.get("k", 7) == 7  # the half-open probe goes through
        assert breaker.state == CLOSED


def test_an_adapter_naming_an_undefined_breaker_stops_the_boot():
    cfg = {
        "app": {"plugins": ["memory", "breaker"]},
        "adapters": {"cache": {"default": {"driver": "memory", "breaker": "payments"}}},
        "plugins": {"breaker": {"redis": {"consecutive_failures": 2}}},
    }

    async def boot() -> None:
        async with boot_app(cfg, environ={}):
            pass

    with pytest.raises(MegaError) as err:
        asyncio.run(boot())
    assert err.value.code == "breaker.unknown"
    assert "[adapters.cache.default] breaker = 'payments'" in err.value.message
    assert "defined: redis" in err.value.message


def test_without_the_breaker_plugin_the_key_is_refused_like_any_unknown_key():
    from mega import App, MegaConfigError

    cfg = {
        "app": {"plugins": ["memory"]},
        "adapters": {"cache": {"default": {"driver": "memory", "breaker": "redis"}}},
    }
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cfg, environ={})
    assert "breaker" in str(err.value)
