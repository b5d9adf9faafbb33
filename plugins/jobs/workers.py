"""CPU-bound tasks off the event loop: ``await ctx.workers.run(ResizeImage, payload)``.

A ``Worker`` class (``apps/<app>/workers/*.py``, ``mega g worker``) names a pool: ``mode``
(``"process"`` or ``"thread"``), ``size``, a per-task ``timeout_ms`` and a bounded
``queue_size``. Its ``run(payload)`` is a plain (sync) method that runs in the pool.

Process pools keep one single-process executor per slot, so one task's failure touches only
its own process: a task that outlives its timeout has its process killed and replaced
(``WorkerTimeoutError``); a process that dies mid-task (killed, segfault, ``os._exit``) is
replaced and that task fails with ``WorkerCrashedError`` — never hangs. Thread pools cannot kill
a thread: a timed-out task is abandoned (it runs on, holding its thread) and the caller gets
``WorkerTimeoutError`` at once. When ``size`` tasks run and ``queue_size`` wait, further callers
wait for room (back-pressure), or get ``WorkerBusyError`` with ``wait=False``. ``close`` stops
taking tasks, lets running ones finish up to a deadline, then stops the processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ClassVar

from mega import MegaConfigError, MegaNotFoundError

from .errors import WorkerBusyError, WorkerClosedError, WorkerCrashedError, WorkerTimeoutError

MODES = ("process", "thread")


class Worker:
    """Subclass and implement ``def run(self, payload)`` (synchronous; runs in the pool).

    ``mode``: ``"process"`` (CPU-bound Python: real parallelism; payload and result are
    pickled) or ``"thread"`` (code that releases the GIL, or blocking I/O).
    ``size``: tasks running at once. ``timeout_ms``: per task (0 = none; callers may pass their
    own). ``queue_size``: tasks that may wait for a free slot before callers are held back.
    """

    mode: ClassVar[str] = "process"
    size: ClassVar[int] = min(4, os.cpu_count() or 1)
    timeout_ms: ClassVar[int] = 60_000
    queue_size: ClassVar[int] = 100

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__

        def bad(attr: str, rule: str) -> MegaConfigError:
            return MegaConfigError(
                f"worker.invalid_{attr.removesuffix('_ms')}",
                f"worker {name!r}: {attr} must be {rule}, got {getattr(cls, attr)!r}",
                {"worker": name, attr: getattr(cls, attr)},
            )

        if cls.mode not in MODES:
            raise bad("mode", "'process' or 'thread'")
        for attr, minimum in (("size", 1), ("timeout_ms", 0), ("queue_size", 0)):
            value = getattr(cls, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise bad(attr, f"an integer >= {minimum}")

    def run(self, payload: Any) -> Any:
        raise NotImplementedError(f"worker {type(self).__name__} must implement run(payload)")


def _call(cls: type[Worker], payload: Any) -> Any:
    """What a pool thread or process executes (module level, so a process can unpickle it)."""
    return cls().run(payload)


def _warm() -> None:
    """A no-op submitted once per process slot so the first real task does not pay the spawn."""


class _Slot:
    """One single-process executor."""

    __slots__ = ("executor",)

    def __init__(self) -> None:
        self.executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def kill(self) -> None:
        # the executor has no API to stop a running task; its one process is ours to end
        for process in list(getattr(self.executor, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


class WorkerPool:
    """The pool of one ``Worker`` class."""

    def __init__(self, cls: type[Worker]) -> None:
        self.cls = cls
        self.name = cls.__name__
        self._admission = asyncio.Semaphore(cls.size + cls.queue_size)
        self._closed = False
        self._running: set[asyncio.Future[Any]] = set()
        self._threads: ThreadPoolExecutor | None = None
        self._idle: asyncio.Queue[_Slot] | None = None
        self._slots: list[_Slot] = []
        if cls.mode == "thread":
            self._threads = ThreadPoolExecutor(cls.size, thread_name_prefix=f"mega-{self.name}")
        else:
            self._idle = asyncio.Queue()
            for _ in range(cls.size):
                self._add_slot()

    def _add_slot(self) -> None:
        assert self._idle is not None
        slot = _Slot()
        slot.executor.submit(_warm)
        self._slots.append(slot)
        self._idle.put_nowait(slot)

    def _replace(self, slot: _Slot) -> None:
        slot.kill()
        self._slots.remove(slot)
        if not self._closed:
            self._add_slot()

    async def run(self, payload: Any, *, timeout_ms: int | None = None, wait: bool = True) -> Any:
        if self._closed:
            raise WorkerClosedError(
                "worker.closed", f"worker pool {self.name!r} is shut down", {"worker": self.name}
            )
        if not wait and self._admission.locked():
            raise WorkerBusyError(
                "worker.busy",
                f"worker pool {self.name!r} is full ({self.cls.size} running, "
                f"{self.cls.queue_size} queued)",
                {"worker": self.name},
            )
        timeout_ms = self.cls.timeout_ms if timeout_ms is None else timeout_ms
        timeout_s = timeout_ms / 1000 if timeout_ms else None
        async with self._admission:
            if self._threads is not None:
                return await self._run_thread(payload, timeout_s, timeout_ms)
            return await self._run_process(payload, timeout_s, timeout_ms)

    async def _run_thread(self, payload: Any, timeout_s: float | None, timeout_ms: int) -> Any:
        assert self._threads is not None
        future = asyncio.wrap_future(self._threads.submit(_call, self.cls, payload))
        self._running.add(future)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout_s)
        finally:
            self._running.discard(future)
        if not done:
            raise self._timeout(timeout_ms, "its thread was abandoned (threads cannot be killed)")
        return future.result()

    async def _run_process(self, payload: Any, timeout_s: float | None, timeout_ms: int) -> Any:
        assert self._idle is not None
        slot: _Slot | None  # None once replaced: not handed back to the idle queue
        slot = await self._idle.get()
        try:
            future = asyncio.wrap_future(slot.executor.submit(_call, self.cls, payload))
        except BrokenProcessPool:  # died while idle: replace it and use the replacement
            self._replace(slot)
            slot = await self._idle.get()
            future = asyncio.wrap_future(slot.executor.submit(_call, self.cls, payload))
        self._running.add(future)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout_s)
            if not done:
                self._replace(slot)
                slot = None
                raise self._timeout(timeout_ms, "its process was killed and replaced")
            try:
                return future.result()
            except BrokenProcessPool:
                self._replace(slot)
                slot = None
                raise WorkerCrashedError(
                    "worker.crashed",
                    f"the process running a {self.name} task died (killed, crashed or exited); "
                    "it was replaced, and this task failed",
                    {"worker": self.name},
                ) from None
        finally:
            self._running.discard(future)
            if slot is not None:
                self._idle.put_nowait(slot)

    def _timeout(self, timeout_ms: int, what: str) -> WorkerTimeoutError:
        return WorkerTimeoutError(
            "worker.timeout",
            f"a {self.name} task ran longer than {timeout_ms} ms; {what}",
            {"worker": self.name, "timeout_ms": timeout_ms},
        )

    async def close(self, deadline_s: float = 10.0) -> None:
        """Take no new tasks; let running ones finish for up to ``deadline_s``; stop the pool."""
        self._closed = True
        if self._running:
            await asyncio.wait(set(self._running), timeout=deadline_s)
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        for slot in list(self._slots):
            if self._running:
                slot.kill()
            else:
                slot.executor.shutdown(wait=False, cancel_futures=True)
        self._slots.clear()


class WorkerPools:
    """The worker pools of one app — ``ctx.workers``. A pool starts on its first task."""

    def __init__(self, workers: Iterable[type[Worker]] = ()) -> None:
        self.workers: dict[str, type[Worker]] = {}
        self._pools: dict[type[Worker], WorkerPool] = {}
        for cls in workers:
            self.add(cls)

    def add(self, cls: type[Worker]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Worker)) or cls is Worker:
            raise MegaConfigError(
                "worker.invalid_class",
                f"{cls!r} is not a worker: subclass mega.plugins.jobs.Worker",
                {"worker": repr(cls)},
            )
        other = self.workers.get(cls.__name__)
        if other is not None and other is not cls:
            raise MegaConfigError(
                "worker.duplicate_name",
                f"two workers are named {cls.__name__!r}: {other.__module__} and "
                f"{cls.__module__}; rename one class",
                {"worker": cls.__name__},
            )
        self.workers[cls.__name__] = cls

    def pool(self, worker: type[Worker] | str) -> WorkerPool:
        if isinstance(worker, str):
            try:
                worker = self.workers[worker]
            except KeyError:
                raise MegaNotFoundError(
                    "worker.unknown",
                    f"no worker {worker!r}; workers of this app: "
                    f"{', '.join(sorted(self.workers)) or '(none: mega g worker <Name>)'}",
                    {"worker": worker},
                ) from None
        pool = self._pools.get(worker)
        if pool is None:
            self.add(worker)
            pool = self._pools[worker] = WorkerPool(worker)
        return pool

    async def run(
        self,
        worker: type[Worker] | str,
        payload: Any = None,
        *,
        timeout_ms: int | None = None,
        wait: bool = True,
    ) -> Any:
        """Run ``worker``'s ``run(payload)`` in its pool and return the result.

        ``timeout_ms`` overrides the class's (0 = none). Raises ``WorkerTimeoutError``,
        ``WorkerCrashedError``, ``WorkerBusyError`` (full and ``wait=False``), or whatever
        ``run`` raised.
        """
        return await self.pool(worker).run(payload, timeout_ms=timeout_ms, wait=wait)

    async def close(self, deadline_s: float = 10.0) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(p.close(deadline_s) for p in pools))


__all__ = ["MODES", "Worker", "WorkerPool", "WorkerPools"]
