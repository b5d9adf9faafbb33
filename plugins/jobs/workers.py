"""CPU-bound tasks off the event loop: ``await ctx.workers.run(ResizeImage, payload)``.

A ``Worker`` class (``apps/<app>/workers/*.py``, ``mega g worker``) names a pool: ``mode``
(``"process"`` or ``"thread"``), ``size``, a per-task ``timeout_ms`` and a bounded
``queue_size``. Its ``run(payload)`` is a plain (sync) method that runs in the pool.

Process pools keep one single-process executor per slot, so one task's failure touches only its
own process: a task that outlives its timeout has its process killed and replaced
(``WorkerTimeoutError``); a process that dies mid-task (killed, segfault, ``os._exit``) is
replaced and that task fails with ``WorkerCrashedError`` — never hangs. Each slot holds the task
it runs and the next one (``DEPTH``), so a process starts its next task the moment it finishes
one instead of idling while the result travels back and the next one is sent; a task queued
behind one that crashed or timed out never started, and goes to another slot. Thread pools
cannot kill a thread: a timed-out task is abandoned (it runs on, holding its thread) and the
caller gets ``WorkerTimeoutError`` at once. When ``size`` tasks run and ``queue_size`` wait,
further callers wait for room (back-pressure), or get ``WorkerBusyError`` with ``wait=False``.
``close`` stops taking tasks, lets running ones finish up to a deadline, then stops the
processes.
"""

from __future__ import annotations

import asyncio
import collections
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from mega import MegaConfigError, MegaNotFoundError

from .errors import WorkerBusyError, WorkerClosedError, WorkerCrashedError, WorkerTimeoutError
from .processes import WorkerProcess

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


#: tasks handed to one process at a time: the one it runs and the next (pipelining)
DEPTH = 2


class _Task:
    """One ``run`` call of a process pool: its payload, its caller's future, its timeout."""

    __slots__ = ("future", "payload", "timeout_ms", "timer")

    def __init__(self, payload: Any, timeout_ms: int, future: asyncio.Future[Any]) -> None:
        self.payload = payload
        self.timeout_ms = timeout_ms
        self.future = future
        self.timer: asyncio.TimerHandle | None = None


class _Slot:
    """One worker process and the tasks handed to it, oldest (the running one) first."""

    __slots__ = ("process", "ready", "tasks")

    def __init__(self) -> None:
        self.process: WorkerProcess | None = None
        self.tasks: collections.deque[_Task] = collections.deque()
        #: the process has started (imports done): its head task's timeout counts from then
        self.ready = False


class WorkerPool:
    """The pool of one ``Worker`` class."""

    def __init__(self, cls: type[Worker]) -> None:
        self.cls = cls
        self.name = cls.__name__
        self._admission = asyncio.Semaphore(cls.size + cls.queue_size)
        self._closed = False
        self._running: set[asyncio.Future[Any]] = set()
        self._threads: ThreadPoolExecutor | None = None
        self._slots: list[_Slot] = []
        #: process tasks not yet handed to a slot, in arrival order
        self._waiting: collections.deque[_Task] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        if cls.mode == "thread":
            self._threads = ThreadPoolExecutor(cls.size, thread_name_prefix=f"mega-{self.name}")

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
        async with self._admission:
            if self._threads is not None:
                return await self._run_thread(payload, timeout_ms)
            return await self._run_process(payload, timeout_ms)

    async def _run_thread(self, payload: Any, timeout_ms: int) -> Any:
        assert self._threads is not None
        future = asyncio.wrap_future(self._threads.submit(_call, self.cls, payload))
        self._running.add(future)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout_ms / 1000 or None)
        finally:
            self._running.discard(future)
        if not done:
            raise self._timeout(timeout_ms, "its thread was abandoned (threads cannot be killed)")
        return future.result()

    async def _run_process(self, payload: Any, timeout_ms: int) -> Any:
        if self._loop is None:  # the processes start with the first task, on its loop
            self._loop = asyncio.get_running_loop()
            for _ in range(self.cls.size):
                self._add_slot()
        task = _Task(payload, timeout_ms, self._loop.create_future())
        self._waiting.append(task)
        self._running.add(task.future)
        self._dispatch()
        try:
            # shielded: a caller that stops waiting leaves the task to end in its slot
            return await asyncio.shield(task.future)
        finally:
            self._running.discard(task.future)
            if not task.future.done() and task in self._waiting:
                self._waiting.remove(task)  # never started: nobody wants it any more
                task.future.cancel()

    def _add_slot(self) -> None:
        assert self._loop is not None
        slot = _Slot()
        slot.process = WorkerProcess(
            self._loop,
            lambda message: self._replied(slot, message),
            lambda: self._exited(slot),
        )
        self._slots.append(slot)

    def _dispatch(self) -> None:
        """Hand waiting tasks to the slots with room, the least loaded first."""
        while self._waiting:
            slot = min(self._slots, key=lambda s: len(s.tasks), default=None)
            if slot is None or len(slot.tasks) >= DEPTH:
                return
            task = self._waiting.popleft()
            assert slot.process is not None
            try:
                slot.process.send((self.cls, task.payload))
            except Exception as exc:  # the payload cannot be pickled: the caller's error
                self._fail(task, exc)
                continue
            slot.tasks.append(task)
            if len(slot.tasks) == 1:
                self._start_timer(slot, task)

    def _start_timer(self, slot: _Slot, task: _Task) -> None:
        """The task heads its slot: it runs now (once the process is up), and its timeout
        counts from then."""
        if task.timeout_ms and slot.ready and self._loop is not None:
            task.timer = self._loop.call_later(task.timeout_ms / 1000, self._timed_out, slot, task)

    def _replied(self, slot: _Slot, message: tuple[str, Any]) -> None:
        kind, value = message
        if kind == "ready":
            slot.ready = True
            if slot.tasks:
                self._start_timer(slot, slot.tasks[0])
            return
        task = slot.tasks.popleft()
        if task.timer is not None:
            task.timer.cancel()
        if slot.tasks:
            self._start_timer(slot, slot.tasks[0])
        if not task.future.done():
            if kind == "ok":
                task.future.set_result(value)
            else:
                task.future.set_exception(value)
        self._dispatch()

    def _exited(self, slot: _Slot) -> None:
        """The process died (killed from outside, crashed, ``os._exit``): its running task
        fails, the ones queued behind it never started."""
        if slot.tasks:
            self._fail(
                slot.tasks[0],
                WorkerCrashedError(
                    "worker.crashed",
                    f"the process running a {self.name} task died (killed, crashed or "
                    "exited); it was replaced, and this task failed",
                    {"worker": self.name},
                ),
            )
        self._replace(slot)

    def _timed_out(self, slot: _Slot, task: _Task) -> None:
        if slot not in self._slots or not slot.tasks or slot.tasks[0] is not task:
            return
        self._fail(task, self._timeout(task.timeout_ms, "its process was killed and replaced"))
        self._replace(slot)

    def _fail(self, task: _Task, error: BaseException) -> None:
        if task.timer is not None:
            task.timer.cancel()
        if not task.future.done():
            task.future.set_exception(error)

    def _replace(self, slot: _Slot) -> None:
        """End ``slot``'s process; the tasks queued behind its head never started: they go
        first in line for another slot. A new process takes its place (unless closing)."""
        if slot not in self._slots:
            return
        self._slots.remove(slot)
        if slot.tasks:
            head = slot.tasks.popleft()
            if head.timer is not None:
                head.timer.cancel()
        self._waiting.extendleft(reversed(slot.tasks))
        slot.tasks.clear()
        if slot.process is not None:
            slot.process.kill()
        if not self._closed:
            self._add_slot()
        self._dispatch()

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
        closed = WorkerClosedError(
            "worker.closed", f"worker pool {self.name!r} is shut down", {"worker": self.name}
        )
        for task in self._waiting:
            self._fail(task, closed)
        self._waiting.clear()
        for slot in list(self._slots):
            self._slots.remove(slot)
            for task in slot.tasks:  # still running at the deadline
                self._fail(task, closed)
            assert slot.process is not None
            if slot.tasks:
                slot.process.kill()
            else:
                slot.process.stop()


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
