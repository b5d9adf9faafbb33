"""The brute-force guard on real cache adapters: thresholds, doubling locks up to the cap,
per-address counting, counters shared by every app on one Redis. The lock's clock is a fake
one moved by the test (the counters' windows are the cache's real TTLs, far longer)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mega.plugins.auth import EVENTS, Guard, GuardSettings, TooManyAttempts, guard
from mega.testing import boot_app

from .conftest import config, redis_adapters

POLICY = {"account_threshold": 3, "address_threshold": 5, "base_lock_s": 10, "max_lock_s": 80}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def guards(
    adapters: dict[str, Any] | None = None, count: int = 1, **policy: Any
) -> AsyncIterator[tuple[Clock, list[Guard]]]:
    """``count`` booted apps (think: processes) on ``adapters``, each with a guard on one fake
    clock."""
    clock = Clock()
    settings = GuardSettings(**{**POLICY, **policy})
    async with contextlib.AsyncExitStack() as stack:
        made = []
        for _ in range(count):
            app = await stack.enter_async_context(
                boot_app(config({"guard": dict(POLICY)}, adapters=adapters), environ={})
            )
            made.append(Guard(app.ctx().cache(), settings, clock=clock))
        yield clock, made


async def locked_for(found: Guard, account: str, address: str = "198.51.100.7") -> int | None:
    try:
        await found.check(account, address)
    except TooManyAttempts as exc:
        return exc.retry_after_s
    return None


async def lock_sequence(clock: Clock, found: Guard, failures: int) -> list[int | None]:
    """Fail ``failures`` times, each as soon as the account is not locked; the lock seen
    after each failure."""
    seen = []
    for _ in range(failures):
        wait = await locked_for(found, "mina@example.com")
        if wait is not None:
            clock.now += wait  # sit the lock out, then fail again
            assert await locked_for(found, "mina@example.com") is None
        await found.record_failure("mina@example.com", "198.51.100.7")
        seen.append(await locked_for(found, "mina@example.com"))
    return seen


@pytest.fixture(params=["memory", "redis"])
def adapters(request: pytest.FixtureRequest) -> Callable[[], dict[str, Any] | None]:
    if request.param == "memory":
        return lambda: None
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: redis_adapters(prefix)


async def test_locks_start_at_the_threshold_double_after_each_lift_and_stop_at_the_cap(adapters):
    async with guards(adapters()) as (clock, [found]):
        seen = await lock_sequence(clock, found, 8)
    assert seen == [None, None, 10, 20, 40, 80, 80, 80]


async def test_a_lock_refuses_every_attempt_until_it_ends(adapters):
    async with guards(adapters()) as (clock, [found]):
        for _ in range(3):
            await found.record_failure("Mina@Example.com ", "198.51.100.7")
        # the account is the same whatever its case and surrounding spaces
        assert await locked_for(found, "mina@example.com") == 10
        clock.now += 4.2
        with pytest.raises(TooManyAttempts) as refused:
            await found.check("MINA@example.com", "203.0.113.1")
        assert refused.value.http_status == 429
        assert refused.value.details == {"scope": "account", "retry_after_s": 6}
        clock.now += 6
        await found.check("mina@example.com", "203.0.113.1")


async def test_one_address_failing_on_many_accounts_is_locked_and_others_are_not(adapters):
    async with guards(adapters()) as (_, [found]):
        for i in range(5):
            await found.record_failure(f"user{i}@example.com", "198.51.100.7")
        with pytest.raises(TooManyAttempts) as refused:
            await found.check("someone-new@example.com", "198.51.100.7")
        assert refused.value.details == {"scope": "address", "retry_after_s": 10}
        with pytest.raises(TooManyAttempts):
            await found.check_address("198.51.100.7")
        await found.check("someone-new@example.com", "198.51.100.8")
        await found.check_address("198.51.100.8")


async def test_a_success_clears_the_account_count_but_not_the_address_count(adapters):
    async with guards(adapters()) as (_, [found]):
        for _ in range(2):
            await found.record_failure("mina@example.com", "198.51.100.7")
        await found.record_success("mina@example.com")
        for _ in range(2):
            await found.record_failure("mina@example.com", "198.51.100.7")
        assert await locked_for(found, "mina@example.com", "203.0.113.1") is None
        await found.record_failure("mina@example.com", "198.51.100.7")  # 3rd since the success
        assert await locked_for(found, "mina@example.com", "203.0.113.1") == 10
        # the address saw 5 failures in all: locked too, whatever the successes
        assert await locked_for(found, "other@example.com", "198.51.100.7") == 10


async def test_reset_lifts_a_lock_and_forgets_the_failures(adapters):
    async with guards(adapters()) as (_, [found]):
        for _ in range(5):
            await found.record_failure("mina@example.com", "198.51.100.7")
        await found.reset(account="mina@example.com", address="198.51.100.7")
        assert await locked_for(found, "mina@example.com") is None
        await found.record_failure("mina@example.com", "198.51.100.7")
        assert await locked_for(found, "mina@example.com") is None


async def test_when_both_are_locked_the_longer_wait_is_reported(adapters):
    async with guards(adapters(), address_threshold=3) as (clock, [found]):
        for _ in range(3):
            await found.record_failure("mina@example.com", "198.51.100.7")
        clock.now += 10
        await found.record_failure("mina@example.com", "198.51.100.7")  # account & address: 20
        for i in range(2):
            await found.record_failure(f"other{i}@example.com", "198.51.100.7")  # address: 80
        with pytest.raises(TooManyAttempts) as refused:
            await found.check("mina@example.com", "198.51.100.7")
        assert refused.value.details == {"scope": "address", "retry_after_s": 80}


async def test_ipv6_clients_count_per_64_network_and_mapped_ipv4_as_ipv4():
    async with guards(address_threshold=2) as (_, [found]):
        await found.record_failure("a@example.com", "2001:db8:1:2::1")
        await found.record_failure("b@example.com", "2001:db8:1:2:ffff::9")
        with pytest.raises(TooManyAttempts):
            await found.check_address("2001:db8:1:2:abcd::5")  # same /64
        await found.check_address("2001:db8:1:3::1")  # the next /64
        await found.record_failure("a@example.com", "::ffff:192.0.2.1")
        await found.record_failure("b@example.com", "192.0.2.1")
        with pytest.raises(TooManyAttempts):
            await found.check_address("192.0.2.1")


async def test_keys_hold_no_account_name_and_stay_short_whatever_is_sent():
    async with guards() as (_, [found]):
        key = found.account_key("mina@example.com")
        assert "mina" not in key and key.startswith("auth:account:")
        assert len(found.account_key("x" * 100_000)) == len(key)
        assert len(found.address_key("not an address " * 1_000)) < 80


async def test_counters_on_redis_are_shared_by_every_app_using_it(redis_prefix):
    """Two booted apps on one Redis (what two processes or machines see): failures recorded
    by either count together, and a lock set by one refuses on the other."""
    async with guards(redis_adapters(redis_prefix), count=2) as (clock, [first, second]):
        await first.record_failure("mina@example.com", "198.51.100.7")
        await second.record_failure("mina@example.com", "198.51.100.8")
        assert await locked_for(first, "mina@example.com") is None
        await first.record_failure("mina@example.com", "198.51.100.9")
        assert await locked_for(second, "mina@example.com") == 10
        clock.now += 10
        await second.record_failure("mina@example.com", "198.51.100.9")
        assert await locked_for(first, "mina@example.com") == 20
        await second.record_success("mina@example.com")
        clock.now += 20
        assert await locked_for(first, "mina@example.com") is None


async def test_counters_in_memory_are_per_app():
    async with guards(count=2) as (_, [first, second]):
        for _ in range(3):
            await first.record_failure("mina@example.com", "198.51.100.7")
        assert await locked_for(first, "mina@example.com") == 10
        assert await locked_for(second, "mina@example.com") is None


async def test_locks_and_refusals_are_events():
    async with guards() as (_, [found]):
        seen: list[tuple[str, dict[str, Any]]] = []
        for name in EVENTS:
            found.events.on(name, lambda e: seen.append((e.name, dict(e.data))))
        for _ in range(3):
            await found.record_failure("mina@example.com", "198.51.100.7")
        await locked_for(found, "mina@example.com")
    assert seen == [
        ("lock", {"scope": "account", "failures": 3, "lock_s": 10}),
        ("refuse", {"scope": "account", "retry_after_s": 10}),
    ]


async def test_the_apps_guard_counts_in_its_configured_cache():
    adapters = {
        "cache": {"default": {"driver": "memory"}, "counters": {"driver": "memory"}},
    }
    table = {"guard": {"cache": "counters", "key_prefix": "login:", "account_threshold": 1}}
    async with boot_app(config(table, adapters=adapters), environ={}) as app:
        await guard(app).record_failure("mina@example.com", "198.51.100.7")
        counters = app.ctx().cache("counters")
        assert await counters.get(guard(app).account_key("mina@example.com")) == 1
        assert guard(app).account_key("x").startswith("login:account:")
        assert await app.ctx().cache().get(guard(app).account_key("mina@example.com")) is None
        with pytest.raises(TooManyAttempts):
            await guard(app.ctx()).check("mina@example.com", "198.51.100.9")
        assert app.ctx().auth.guard is guard(app)  # ctx.auth: the plugin's runtime
