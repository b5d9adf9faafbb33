"""Exponential backoff with jitter, and the in-process retry loop jobs and DLQ publishes use.

The delay before retry ``n`` (1-based) is ``initial · factor^(n-1)``, times a random factor in
[1, 2) when ``jitter`` is on, capped at ``max`` — the schedule of p-retry, which the seed used.
"""

# No `from __future__ import annotations`: typing.NamedTuple would compile a ForwardRef per field.

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


class Backoff(NamedTuple):
    """How long to wait between attempts (milliseconds)."""

    initial_ms: int = 1_000
    max_ms: int = 30_000
    factor: float = 2.0
    jitter: bool = True

    def delay_s(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        delay = self.initial_ms * self.factor ** (retry - 1)
        if self.jitter:
            delay *= 1.0 + random.random()
        return min(delay, self.max_ms) / 1000.0


class RetryPolicy(NamedTuple):
    """``retries`` extra attempts after the first, spaced by ``backoff``."""

    retries: int
    backoff: Backoff


#: the DLQ publish's own retries: 2 more attempts, 250 ms then up to 1 s
DLQ_PUBLISH_RETRY = RetryPolicy(2, Backoff(initial_ms=250, max_ms=1_000))


async def with_retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_failed_attempt: Callable[[int, int, Exception], Any] | None = None,
) -> T:
    """Await ``attempt()`` until it succeeds or ``policy.retries`` retries have failed.

    ``on_failed_attempt(attempt_number, retries_left, error)`` runs after each failure that
    will be retried. The last failure is raised. Cancellation is never retried.
    """
    number = 1
    while True:
        try:
            return await attempt()
        except Exception as exc:
            retries_left = policy.retries - number + 1
            if retries_left <= 0:
                raise
            if on_failed_attempt is not None:
                on_failed_attempt(number, retries_left, exc)
            await asyncio.sleep(policy.backoff.delay_s(number))
            number += 1
