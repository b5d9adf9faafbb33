"""The lock contract: try-once acquisition with fencing tokens and automatic extension.

A lock driver (``[adapters.lock.<alias>]``) subclasses ``Lock`` and implements three atomic
operations against its backend; ``Lock`` supplies everything users call:

    async with ctx.lock().hold("invoices:2026-11", ttl_ms=10_000) as held:
        await write(..., fence=held.token)       # UPDATE … WHERE last_token < :token
        if held.lost.is_set():                     # an extension failed: stop touching shared state
            ...

Every acquisition returns a **fencing token** that strictly increases per fence name across all
holders and processes, so a holder that paused past its TTL can be refused by the resource it
writes to. While held, the TTL is extended every ``ttl_ms / 3``; a failed extension sets
``held.lost`` and calls the ``on_lost`` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from .errors import MegaConfigError, MegaError

#: Shortest TTL accepted: extensions run every ttl/3 and each must land within the 2/3 left.
MIN_TTL_MS = 600


class LockBusy(MegaError):
    """The lock is held by someone else (the acquisition was tried once)."""

    http_status = 409


class LockBackendError(MegaError):
    """The lock backend failed or did not answer in time; nothing is known to be held."""

    http_status = 503


def check_ttl(ttl_ms: Any, *, what: str) -> int:
    """Validate a lock TTL; ``what`` names the owner in the error (a schedule, a caller)."""
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < MIN_TTL_MS:
        raise MegaConfigError(
            "lock.invalid_ttl",
            f"{what}: ttl_ms must be an integer >= {MIN_TTL_MS} (the lock is extended every "
            f"ttl_ms/3 and each extension needs time to land), got {ttl_ms!r}",
            {"ttl_ms": ttl_ms, "min": MIN_TTL_MS},
        )
    return ttl_ms


class Held:
    """A held lock: its fencing ``token``, a ``lost`` event, and ``release``.

    ``owner`` is the random id stored with the lock: extension and release compare it, so a
    holder whose lock expired and was taken over can never touch the new holder's lock.
    """

    __slots__ = (
        "_extending",
        "_lock",
        "_on_lost",
        "_timer",
        "error",
        "key",
        "lost",
        "owner",
        "token",
        "ttl_ms",
    )

    def __init__(self, lock: Lock, key: str, owner: str, token: int, ttl_ms: int) -> None:
        self._lock = lock
        self.key = key
        self.owner = owner
        self.token = token
        self.ttl_ms = ttl_ms
        #: set when an extension failed or found the lock taken over: stop writing
        self.lost = asyncio.Event()
        #: why it was lost (the backend error), when it was
        self.error: BaseException | None = None
        self._on_lost: list[Callable[[Held], Any]] = []
        # A timer, not a task, waits for the next extension: most holds end before one is due,
        # and a timer costs a fraction of a task (measured in bench/locks.py).
        self._extending: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._schedule_extension()

    def on_lost(self, callback: Callable[[Held], Any]) -> None:
        """Call ``callback(held)`` when the lock is lost while held."""
        self._on_lost.append(callback)

    async def release(self, *, keep_ms: int = 0) -> None:
        """Stop extending and give the lock up; ``keep_ms > 0`` leaves it held that much longer.

        Raises ``LockBackendError`` when the backend fails (the lock then expires by its TTL).
        """
        await self._stop_extending()
        if self.lost.is_set():
            return
        await self._lock._guard("release", self._lock._release(self.key, self.owner, keep_ms))

    async def _stop_extending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._extending is not None:
            self._extending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._extending
            self._extending = None

    def _schedule_extension(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.ttl_ms / 3000, self._start_extension)

    def _start_extension(self) -> None:
        self._timer = None
        self._extending = asyncio.create_task(self._extend(), name=f"lock-extend:{self.key}")

    async def _extend(self) -> None:
        try:
            still_ours = await self._lock._guard(
                "extend", self._lock._extend(self.key, self.owner, self.ttl_ms)
            )
        except LockBackendError as exc:
            self._lose(exc)
            return
        if not still_ours:
            self._lose(
                LockBusy("lock.lost", f"lock {self.key!r} was taken over", {"key": self.key})
            )
            return
        self._extending = None
        self._schedule_extension()

    def _lose(self, error: BaseException) -> None:
        self.error = error
        self.lost.set()
        for callback in self._on_lost:
            try:
                callback(self)
            except Exception:  # a callback must not stop the others
                continue


class Lock:
    """Base class of lock adapters. Drivers implement ``_acquire``, ``_extend``, ``_release``
    (each one atomic step on the backend) and ``connect``/``close``."""

    #: a backend operation that takes longer than this fails with ``lock.backend_error``;
    #: None when the driver's client already bounds every operation (socket timeouts)
    op_timeout_s: float | None = 0.5

    async def _acquire(self, key: str, ttl_ms: int, fence: str, owner: str) -> int | None:
        """If ``key`` is free, take it for ``owner`` for ``ttl_ms`` and return the next token of
        the ``fence`` sequence; None when someone holds it."""
        raise NotImplementedError

    async def _extend(self, key: str, owner: str, ttl_ms: int) -> bool:
        """Reset the TTL if ``key`` is still held by ``owner``; False if it is not."""
        raise NotImplementedError

    async def _release(self, key: str, owner: str, keep_ms: int) -> bool:
        """Delete ``key`` (or set its TTL to ``keep_ms``) if held by ``owner``."""
        raise NotImplementedError

    async def connect(self) -> None:
        """Open the backend connection (called by the kernel at boot)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close the backend connection (called by the kernel at shutdown)."""
        raise NotImplementedError

    async def try_acquire(self, key: str, *, ttl_ms: int, fence: str | None = None) -> Held | None:
        """Try once: a ``Held`` (auto-extended until released), or None when someone holds it.

        ``fence`` names the token sequence (default: ``key``). Raises ``LockBackendError``.
        """
        check_ttl(ttl_ms, what=f"lock {key!r}")
        owner = uuid.uuid4().hex
        token = await self._guard("acquire", self._acquire(key, ttl_ms, fence or key, owner))
        return None if token is None else Held(self, key, owner, int(token), ttl_ms)

    @contextlib.asynccontextmanager
    async def hold(
        self, key: str, *, ttl_ms: int, fence: str | None = None, keep_ms: int = 0
    ) -> AsyncIterator[Held]:
        """``async with lock.hold(key, ttl_ms=…) as held``; raises ``LockBusy`` when taken."""
        held = await self.try_acquire(key, ttl_ms=ttl_ms, fence=fence)
        if held is None:
            raise LockBusy("lock.busy", f"lock {key!r} is held by someone else", {"key": key})
        try:
            yield held
        finally:
            await held.release(keep_ms=keep_ms)

    async def _guard(self, op: str, call: Any) -> Any:
        try:
            if self.op_timeout_s is None:
                return await call
            async with asyncio.timeout(self.op_timeout_s):
                return await call
        except (LockBusy, LockBackendError):
            raise
        except TimeoutError as exc:
            raise LockBackendError(
                "lock.backend_error",
                f"lock backend did not answer the {op} in time",
                {"op": op},
            ) from exc
        except Exception as exc:
            raise LockBackendError(
                "lock.backend_error",
                f"lock backend failed the {op}: {type(exc).__name__}: {exc}",
                {"op": op, "cause": repr(exc)},
            ) from exc
