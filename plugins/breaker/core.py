"""``Breaker``: one circuit breaker — closed, open, half-open — over a rolling window.

Pure asyncio; the clock is injectable (``clock=``, a monotonic ``() -> float`` in seconds), so the
tests drive every transition without sleeping.

Closed: every call runs; a call that raises a counted exception (or times out) is a failure. The
breaker opens when ``consecutive_failures`` calls in a row fail, or when the window holds at least
``min_calls`` calls and the failure ratio reaches ``failure_ratio``. Open: calls are rejected with
``BreakerOpen`` until ``open_s`` has passed. Half-open: at most ``half_open_probes`` calls run at
once; that many successes close the breaker, one failure opens it again.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

from mega import MegaError

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"

P = ParamSpec("P")
T = TypeVar("T")
Clock = Callable[[], float]
#: ``on_change(breaker, previous_state, reason)``, called after each transition
OnChange = Callable[["Breaker", str, str], None]
#: ``fallback(exc)``: the answer when a call is rejected or fails; may be async
Fallback = Callable[[BaseException], Any]


class BreakerOpen(MegaError):
    """A call was refused because its breaker is open (or half-open with every probe taken)."""

    http_status = 503

    def __init__(self, name: str, key: str | None, retry_after_s: float) -> None:
        wait = max(math.ceil(retry_after_s), 0)
        which = name if key is None else f"{name}[{key}]"
        super().__init__(
            "breaker.open",
            f"circuit breaker {which!r} is open after repeated failures; "
            f"the call was not made, retry in {wait} s",
            {"breaker": name, "key": key, "retry_after_s": wait},
        )


@dataclass(frozen=True, slots=True)
class BreakerOptions:
    """How one breaker decides. Times in seconds; ``0`` turns a trigger off."""

    #: open when failures / calls in the window reach this (with at least ``min_calls`` calls)
    failure_ratio: float = 0.5
    min_calls: int = 10
    window_s: float = 10.0
    #: the window slides in this many buckets
    buckets: int = 10
    #: open after this many failures in a row, whatever the ratio (0: off)
    consecutive_failures: int = 5
    open_s: float = 30.0
    half_open_probes: int = 1
    #: a call running longer is cancelled and counted as a failure (0: no timeout)
    timeout_s: float = 0.0
    #: exceptions that count as failures; others pass through as successes of the dependency
    failures: tuple[type[BaseException], ...] = (Exception,)
    #: exceptions never counted even when they match ``failures`` (``BreakerOpen`` always is not)
    ignore: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.failure_ratio <= 1:
            raise ValueError(f"failure_ratio must be in (0, 1], got {self.failure_ratio}")
        for field in ("min_calls", "buckets", "half_open_probes"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")
        for field in ("window_s", "open_s"):
            if getattr(self, field) <= 0:
                raise ValueError(f"{field} must be > 0, got {getattr(self, field)}")
        if self.consecutive_failures < 0 or self.timeout_s < 0:
            raise ValueError("consecutive_failures and timeout_s must be >= 0")


class Breaker:
    """One breaker. ``await breaker.call(fn, *args)``, ``@breaker`` or ``async with breaker:``."""

    __slots__ = (
        "_bucket_end",
        "_calls",
        "_clock",
        "_consecutive",
        "_cur_calls",
        "_cur_fails",
        "_epoch",
        "_epochs",
        "_fails",
        "_per_s",
        "_plain",
        "_probes_ok",
        "_probes_running",
        "fallback",
        "key",
        "name",
        "on_change",
        "on_reject",
        "opened_until",
        "options",
        "state",
    )

    def __init__(
        self,
        name: str = "default",
        options: BreakerOptions | None = None,
        *,
        key: str | None = None,
        clock: Clock = time.monotonic,
        fallback: Fallback | None = None,
        on_change: OnChange | None = None,
        on_reject: Callable[[Breaker], None] | None = None,
    ) -> None:
        self.name = name
        self.key = key
        self.options = options or BreakerOptions()
        self.fallback = fallback
        self.on_change = on_change
        self.on_reject = on_reject
        self.state: str = CLOSED
        #: closed and without timeout: call() and the decorator take their short path
        self._plain = not self.options.timeout_s
        #: clock time at which an open breaker lets the first probe through
        self.opened_until = 0.0
        self._clock = clock
        self._per_s = self.options.buckets / self.options.window_s
        self._reset_window()
        self._probes_running = 0
        self._probes_ok = 0

    def __repr__(self) -> str:
        return f"Breaker({self.name!r}, key={self.key!r}, state={self.state!r})"

    # -- admission and outcome --------------------------------------------------------------

    def admit(self) -> bool:
        """Take a slot for one call, or raise ``BreakerOpen``; True when the call is a half-open
        probe. Report its outcome with ``success``/``failure``/``release`` (same ``probe``)."""
        if self.state is CLOSED:
            return False
        now = self._clock()
        if self.state is OPEN:
            if now < self.opened_until:
                self._reject(self.opened_until - now)
            self._probes_running = self._probes_ok = 0
            self._transition(HALF_OPEN, "open_s elapsed")
        if self._probes_running + self._probes_ok >= self.options.half_open_probes:
            self._reject(0)
        self._probes_running += 1
        return True

    def _reject(self, retry_after_s: float) -> None:
        if self.on_reject is not None:
            self.on_reject(self)
        raise BreakerOpen(self.name, self.key, retry_after_s)

    def success(self, probe: bool = False) -> None:
        """The admitted call succeeded. A call admitted while closed that ends after the breaker
        left that state (another call opened it) changes nothing."""
        if probe:
            if self.state is HALF_OPEN:
                self._probes_running -= 1
                self._probes_ok += 1
                if self._probes_ok >= self.options.half_open_probes:
                    self._reset_window()
                    self._transition(CLOSED, f"{self._probes_ok} probe(s) succeeded")
        elif self.state is CLOSED:
            self._consecutive = 0
            now = self._clock()
            if now >= self._bucket_end:
                self._roll(now)
            self._cur_calls += 1

    def failure(self, reason: str = "failure", probe: bool = False) -> None:
        """The admitted call failed (or timed out)."""
        if probe:
            if self.state is HALF_OPEN:
                self._probes_running -= 1
                self._open(f"a probe failed: {reason}")
            return
        if self.state is not CLOSED:
            return
        self._consecutive += 1
        opts = self.options
        if opts.consecutive_failures and self._consecutive >= opts.consecutive_failures:
            self._open(f"{self._consecutive} consecutive failures; last: {reason}")
            return
        now = self._clock()
        if now >= self._bucket_end:
            self._roll(now)
        self._cur_calls += 1
        self._cur_fails += 1
        calls, fails = self._window()
        if calls >= opts.min_calls and fails / calls >= opts.failure_ratio:
            self._open(f"{fails} of {calls} calls failed in {opts.window_s:g} s; last: {reason}")

    def release(self, probe: bool = False) -> None:
        """The admitted call ended without an outcome (cancelled): give its probe slot back."""
        if probe and self.state is HALF_OPEN and self._probes_running:
            self._probes_running -= 1

    def counts(self) -> tuple[int, int]:
        """``(calls, failures)`` in the current window."""
        now = self._clock()
        if now >= self._bucket_end:
            self._roll(now)
        return self._window()

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it is not open)."""
        return max(self.opened_until - self._clock(), 0.0) if self.state is OPEN else 0.0

    def reset(self) -> None:
        """Close the breaker and forget the window (an operator's override)."""
        self._reset_window()
        if self.state is not CLOSED:
            self._transition(CLOSED, "reset")

    def _open(self, reason: str) -> None:
        self.opened_until = self._clock() + self.options.open_s
        self._transition(OPEN, reason)

    def _reset_window(self) -> None:
        # the window: the current bucket in two counters, the finished ones in a ring indexed
        # by epoch % buckets (an epoch is a bucket-long slice of the clock)
        n = self.options.buckets
        self._epochs = [-(2**62)] * n
        self._calls = [0] * n
        self._fails = [0] * n
        self._epoch = -(2**62)
        self._bucket_end = -math.inf
        self._cur_calls = self._cur_fails = 0
        self._consecutive = 0

    def _roll(self, now: float) -> None:
        """Finish the current bucket and start the one holding ``now``."""
        epoch = int(now * self._per_s)
        if epoch <= self._epoch:  # float rounding at a bucket's edge: still the same bucket
            self._bucket_end = math.nextafter(now, math.inf)
            return
        i = self._epoch % self.options.buckets
        self._epochs[i] = self._epoch
        self._calls[i] = self._cur_calls
        self._fails[i] = self._cur_fails
        self._epoch = epoch
        self._bucket_end = (epoch + 1) / self._per_s
        self._cur_calls = self._cur_fails = 0

    def _window(self) -> tuple[int, int]:
        n = self.options.buckets
        calls, fails = self._cur_calls, self._cur_fails
        for j in range(n):
            if self._epoch - self._epochs[j] < n:
                calls += self._calls[j]
                fails += self._fails[j]
        return calls, fails

    def _transition(self, state: str, reason: str) -> None:
        previous, self.state = self.state, state
        self._plain = state is CLOSED and not self.options.timeout_s
        if self.on_change is not None:
            self.on_change(self, previous, reason)

    def _counted(self, exc: BaseException) -> bool:
        opts = self.options
        return (
            isinstance(exc, opts.failures)
            and not isinstance(exc, opts.ignore)
            and not isinstance(exc, BreakerOpen)
        )

    # -- the three ways to use it ------------------------------------------------------------

    async def call(
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | Any:
        """``await fn(*args, **kwargs)`` through the breaker; the breaker's fallback answers a
        refusal or a counted failure when one is set."""
        if not self._plain:
            return await self._run(self.fallback, fn, *args, **kwargs)
        # closed, no timeout: the path bench/breaker.py holds under 1 us
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            return await self._failed(exc, self.fallback, False)
        if self.state is CLOSED:
            self._consecutive = 0  # success(), inlined
            now = self._clock()
            if now >= self._bucket_end:
                self._roll(now)
            self._cur_calls += 1
        return result

    async def _run(
        self,
        fallback: Fallback | None,
        fn: Callable[P, Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Any:
        try:
            probe = self.admit()
        except BreakerOpen as exc:
            if fallback is None:
                raise
            return await _answer(fallback, exc)
        try:
            if self.options.timeout_s:
                async with asyncio.timeout(self.options.timeout_s):
                    result = await fn(*args, **kwargs)
            else:
                result = await fn(*args, **kwargs)
        except Exception as exc:
            return await self._failed(exc, fallback, probe)
        except BaseException:
            self.release(probe)
            raise
        self.success(probe)
        return result

    async def _failed(self, exc: Exception, fallback: Fallback | None, probe: bool) -> Any:
        if not self._counted(exc):
            self.success(probe)
            raise exc
        self.failure(_describe(exc), probe)
        if fallback is None:
            raise exc
        return await _answer(fallback, exc)

    def __call__(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | Any]]:
        """``@breaker`` on an async function."""
        return self.protect()(fn)

    def protect(
        self, *, fallback: Fallback | None = None
    ) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T | Any]]]:
        """``@breaker.protect(fallback=...)``: a decorator with its own fallback (else the
        breaker's)."""
        return lambda fn: self._wrap(fn, fallback or self.fallback)

    def _wrap(
        self, fn: Callable[P, Awaitable[T]], fallback: Fallback | None
    ) -> Callable[P, Awaitable[T | Any]]:
        breaker = self

        async def guarded(*args: P.args, **kwargs: P.kwargs) -> T | Any:
            # call()'s fast path, inlined: `await breaker.call(...)` would add a coroutine
            if not breaker._plain:
                return await breaker._run(fallback, fn, *args, **kwargs)
            try:
                result = await fn(*args, **kwargs)
            except Exception as exc:
                return await breaker._failed(exc, fallback, False)
            breaker.success()
            return result

        guarded.__name__ = getattr(fn, "__name__", "guarded")
        guarded.__qualname__ = getattr(fn, "__qualname__", "guarded")
        guarded.__doc__ = fn.__doc__
        # what functools.wraps sets (inspect.signature follows it); not declared on functions
        guarded.__wrapped__ = fn  # type: ignore[attr-defined]
        return guarded

    def guard(self) -> Guard:
        """``async with breaker.guard():`` — a context of its own: it applies ``timeout_s`` and
        knows whether its block is a half-open probe."""
        return Guard(self)

    async def __aenter__(self) -> Breaker:
        # one breaker is shared by concurrent tasks, so it cannot hold a block's timeout scope
        if not self._plain:
            if self.options.timeout_s:
                raise TypeError("a breaker with timeout_s needs `async with breaker.guard():`")
            self.admit()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None and self.state is CLOSED:
            self._consecutive = 0  # success(), inlined
            now = self._clock()
            if now >= self._bucket_end:
                self._roll(now)
            self._cur_calls += 1
        else:
            # the shared breaker does not know whether this block was a probe: while half-open
            # with probes out, it counts as one (guard() knows for sure)
            _settle(self, exc, self.state is HALF_OPEN and self._probes_running > 0)


class Guard:
    """One ``async with`` of a breaker, with its own timeout scope and probe flag."""

    __slots__ = ("_probe", "_timeout", "breaker")

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self._probe = False
        self._timeout: asyncio.Timeout | None = None

    async def __aenter__(self) -> Breaker:
        self._probe = self.breaker.admit()
        if self.breaker.options.timeout_s:
            self._timeout = asyncio.timeout(self.breaker.options.timeout_s)
            await self._timeout.__aenter__()
        return self.breaker

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timeout is not None:
            try:
                await self._timeout.__aexit__(exc_type, exc, tb)
            except TimeoutError as timed_out:
                self.breaker.failure(_describe(timed_out), self._probe)
                raise
        _settle(self.breaker, exc, self._probe)


def _settle(breaker: Breaker, exc: BaseException | None, probe: bool) -> None:
    if exc is None:
        breaker.success(probe)
    elif isinstance(exc, Exception):
        if breaker._counted(exc):
            breaker.failure(_describe(exc), probe)
        else:
            breaker.success(probe)
    else:
        breaker.release(probe)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, MegaError):
        return exc.code
    return type(exc).__name__


async def _answer(fallback: Fallback, exc: BaseException) -> Any:
    result = fallback(exc)
    return await result if inspect.isawaitable(result) else result
