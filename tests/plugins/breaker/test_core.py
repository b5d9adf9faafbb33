"""The breaker's state machine, driven by a fake clock: no sleeps."""

from __future__ import annotations

import asyncio

import pytest

from mega.plugins.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerOpen, BreakerOptions


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Boom(Exception):
    pass


async def ok() -> str:
    return "ok"


async def boom() -> str:
    raise Boom("down")


def make(clock: FakeClock, **options: object) -> tuple[Breaker, list[tuple[str, str]]]:
    changes: list[tuple[str, str]] = []
    breaker = Breaker(
        "dep",
        BreakerOptions(**options),  # type: ignore[arg-type]
        clock=clock,
        on_change=lambda b, previous, reason: changes.append((previous, b.state)),
    )
    return breaker, changes


async def fail(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Boom):
            await breaker.call(boom)


async def test_consecutive_failures_open_the_breaker_and_calls_are_refused():
    clock = FakeClock()
    breaker, changes = make(clock, consecutive_failures=3, open_s=30)
    await fail(breaker, 2)
    assert breaker.state == CLOSED
    await fail(breaker, 1)
    assert breaker.state == OPEN
    assert changes == [(CLOSED, OPEN)]
    calls = 0

    async def counted() -> None:
        nonlocal calls
        calls += 1

    clock.advance(10)
    with pytest.raises(BreakerOpen) as refused:
        await breaker.call(counted)
    assert calls == 0
    assert refused.value.code == "breaker.open"
    assert refused.value.http_status == 503
    assert refused.value.details == {"breaker": "dep", "key": None, "retry_after_s": 20}


async def test_a_success_resets_the_consecutive_count():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=3, min_calls=100)
    for _ in range(5):
        await fail(breaker, 2)
        await breaker.call(ok)
    assert breaker.state == CLOSED


async def test_failure_ratio_opens_only_with_min_calls_in_the_window():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=0, failure_ratio=0.5, min_calls=10)
    for _ in range(4):
        await breaker.call(ok)
        await fail(breaker, 1)
    assert breaker.counts() == (8, 4)
    assert breaker.state == CLOSED  # 50 % but only 8 calls
    await breaker.call(ok)
    await fail(breaker, 1)
    assert breaker.state == OPEN  # 5 of 10


async def test_old_calls_slide_out_of_the_window():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=0, min_calls=4, window_s=10, buckets=10)
    await fail(breaker, 3)
    clock.advance(11)  # those failures are out of the window now
    assert breaker.counts() == (0, 0)
    for _ in range(3):
        await breaker.call(ok)
    await fail(breaker, 1)
    assert breaker.state == CLOSED  # 1 of 4
    await fail(breaker, 1)
    assert breaker.state == CLOSED  # 2 of 5
    await fail(breaker, 1)
    assert breaker.state == OPEN  # 3 of 6: 50 %


async def test_half_open_lets_a_bounded_number_of_probes_through_then_closes():
    clock = FakeClock()
    breaker, changes = make(clock, consecutive_failures=1, open_s=5, half_open_probes=2)
    await fail(breaker, 1)
    clock.advance(5)
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "ok"

    first = asyncio.create_task(breaker.call(slow))
    second = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    assert breaker.state == HALF_OPEN
    with pytest.raises(BreakerOpen) as refused:
        await breaker.call(ok)  # both probe slots are taken
    assert refused.value.details["retry_after_s"] == 0
    gate.set()
    assert await first == await second == "ok"
    assert breaker.state == CLOSED
    assert changes == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert breaker.counts() == (0, 0)


async def test_a_call_admitted_while_closed_is_not_taken_for_a_probe():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=1, open_s=5)
    early_gate, probe_gate = asyncio.Event(), asyncio.Event()

    async def slow(gate: asyncio.Event) -> str:
        await gate.wait()
        return "late"

    early = asyncio.create_task(breaker.call(slow, early_gate))
    await asyncio.sleep(0)
    await fail(breaker, 1)
    clock.advance(5)
    probe = asyncio.create_task(breaker.call(slow, probe_gate))
    await asyncio.sleep(0)
    assert breaker.state == HALF_OPEN
    early_gate.set()
    assert await early == "late"
    assert breaker.state == HALF_OPEN  # the early call's success is not the probe's
    probe_gate.set()
    assert await probe == "late"
    assert breaker.state == CLOSED


async def test_a_failed_probe_opens_the_breaker_again_for_open_s():
    clock = FakeClock()
    breaker, changes = make(clock, consecutive_failures=1, open_s=5)
    await fail(breaker, 1)
    clock.advance(5)
    await fail(breaker, 1)
    assert breaker.state == OPEN
    assert breaker.retry_after_s() == 5
    assert changes[-2:] == [(OPEN, HALF_OPEN), (HALF_OPEN, OPEN)]


async def test_a_cancelled_probe_gives_its_slot_back():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=1, open_s=1)
    await fail(breaker, 1)
    clock.advance(1)
    task = asyncio.create_task(breaker.call(asyncio.sleep, 10))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state == HALF_OPEN
    assert await breaker.call(ok) == "ok"
    assert breaker.state == CLOSED


async def test_a_timeout_counts_as_a_failure():
    breaker, _ = make(FakeClock(), consecutive_failures=2, timeout_s=0.01)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await breaker.call(asyncio.sleep, 1)
    assert breaker.state == OPEN


async def test_ignored_and_uncounted_exceptions_do_not_open_it():
    breaker, _ = make(FakeClock(), consecutive_failures=1, failures=(Boom,), ignore=(KeyError,))

    class NotFound(Boom, KeyError):
        pass

    async def missing() -> None:
        raise NotFound

    async def bad_input() -> None:
        raise ValueError

    with pytest.raises(NotFound):
        await breaker.call(missing)
    with pytest.raises(ValueError):
        await breaker.call(bad_input)
    assert breaker.state == CLOSED


async def test_fallback_answers_failures_and_refusals():
    seen: list[str] = []

    def fallback(exc: BaseException) -> str:
        seen.append(type(exc).__name__)
        return "cached"

    breaker = Breaker(
        "dep", BreakerOptions(consecutive_failures=1), clock=FakeClock(), fallback=fallback
    )
    assert await breaker.call(boom) == "cached"
    assert await breaker.call(ok) == "cached"
    assert seen == ["Boom", "BreakerOpen"]


async def test_decorator_with_its_own_async_fallback():
    breaker, _ = make(FakeClock(), consecutive_failures=1)

    async def stale(exc: BaseException) -> str:
        return f"stale ({type(exc).__name__})"

    @breaker.protect(fallback=stale)
    async def fetch(x: int) -> str:
        if x < 0:
            raise Boom
        return str(x)

    @breaker
    async def plain() -> str:
        return "plain"

    assert await fetch(1) == "1"
    assert fetch.__name__ == "fetch"
    assert await fetch(-1) == "stale (Boom)"
    assert await fetch(1) == "stale (BreakerOpen)"
    with pytest.raises(BreakerOpen):
        await plain()


async def test_async_with_counts_the_block():
    clock = FakeClock()
    breaker, _ = make(clock, consecutive_failures=2, open_s=1)
    async with breaker:
        pass
    for _ in range(2):
        with pytest.raises(Boom):
            async with breaker:
                raise Boom
    with pytest.raises(BreakerOpen):
        async with breaker:
            raise AssertionError("an open breaker must not run the block")
    clock.advance(1)
    async with breaker.guard():
        pass
    assert breaker.state == CLOSED


async def test_guard_times_out_the_block():
    breaker, _ = make(FakeClock(), consecutive_failures=1, timeout_s=0.01)
    with pytest.raises(TypeError, match="guard"):
        async with breaker:
            pass
    with pytest.raises(TimeoutError):
        async with breaker.guard():
            await asyncio.sleep(1)
    assert breaker.state == OPEN


def test_reset_closes_an_open_breaker():
    breaker, changes = make(FakeClock(), consecutive_failures=1)
    breaker.failure("x")
    breaker.reset()
    assert breaker.state == CLOSED
    assert changes == [(CLOSED, OPEN), (OPEN, CLOSED)]


@pytest.mark.parametrize(
    "bad",
    [{"failure_ratio": 0}, {"min_calls": 0}, {"open_s": 0}, {"half_open_probes": 0}],
    ids=lambda b: next(iter(b)),
)
def test_options_refuse_values_that_cannot_work(bad):
    with pytest.raises(ValueError):
        BreakerOptions(**bad)
