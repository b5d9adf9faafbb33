"""What a closed circuit breaker adds to a call, against the bare call in the same run.

One coroutine awaits a no-op ``async def`` N times: bare (``await fn()``), through
``breaker.call(fn)``, through a ``@breaker``-decorated function and inside ``async with breaker:``.
The breaker is closed and every call succeeds — the steady state of a healthy dependency; each
success still lands in the rolling window. Rounds interleave the four loops (their order rotates)
and the overhead per call is the median over rounds of (loop time - bare loop time) / N.

Target: each way adds <= 1 us per call. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable

from mega.plugins.breaker import Breaker, BreakerOptions


async def noop() -> int:
    return 1


async def bare(n: int) -> float:
    fn = noop
    started = time.perf_counter()
    for _ in range(n):
        await fn()
    return time.perf_counter() - started


def through_call(breaker: Breaker) -> Callable[[int], Awaitable[float]]:
    async def loop(n: int) -> float:
        call, fn = breaker.call, noop
        started = time.perf_counter()
        for _ in range(n):
            await call(fn)
        return time.perf_counter() - started

    return loop


def through_decorator(breaker: Breaker) -> Callable[[int], Awaitable[float]]:
    fn = breaker(noop)

    async def loop(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await fn()
        return time.perf_counter() - started

    return loop


def through_async_with(breaker: Breaker) -> Callable[[int], Awaitable[float]]:
    async def loop(n: int) -> float:
        fn = noop
        started = time.perf_counter()
        for _ in range(n):
            async with breaker:
                await fn()
        return time.perf_counter() - started

    return loop


async def measure(rounds: int, n: int) -> dict[str, list[float]]:
    breaker = Breaker("bench", BreakerOptions())
    loops: dict[str, Callable[[int], Awaitable[float]]] = {
        "bare": bare,
        "call": through_call(breaker),
        "decorator": through_decorator(breaker),
        "async_with": through_async_with(breaker),
    }
    for loop in loops.values():  # warm up
        await loop(n // 10)
    overheads: dict[str, list[float]] = {name: [] for name in loops if name != "bare"}
    overheads["bare_ns"] = []
    names = list(loops)
    gc.disable()  # a collection landing in one loop but not its pair is noise, not cost
    try:
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            times = {name: await loops[name](n) for name in order}
            for name in overheads:
                if name != "bare_ns":
                    overheads[name].append((times[name] - times["bare"]) / n * 1e9)
            overheads["bare_ns"].append(times["bare"] / n * 1e9)
            gc.collect()
    finally:
        gc.enable()
    assert breaker.state == "closed" and breaker.counts()[1] == 0
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a few seconds)")
    args = parser.parse_args()
    rounds, n = (21, 50_000) if args.quick else (41, 100_000)
    results = asyncio.run(measure(rounds, n))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"bare call: {medians['bare_ns']:.0f} ns")
    for name in ("call", "decorator", "async_with"):
        print(f"closed breaker, {name:<10}: +{medians[name]:.0f} ns per call")
    ways = ("call", "decorator", "async_with")
    ratios = {f"{name}_overhead_us": round(medians[name] / 1000, 3) for name in ways}
    targets = {name: "<=1.0" for name in ratios}
    figures = {f"{name}_overhead_ns": round(medians[name]) for name in ways}
    figures |= {"bare_call_ns": round(medians["bare_ns"]), "rounds": rounds, "calls_per_round": n}
    passed = all(value <= 1.0 for value in ratios.values())
    result = {"bench": "breaker", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": passed}))


if __name__ == "__main__":
    main()
