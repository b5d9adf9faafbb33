"""One worker process of a process pool, driven from the event loop with no helper thread.

``concurrent.futures.ProcessPoolExecutor`` cannot isolate one task: a process that dies breaks
the whole executor, and a task that overruns cannot be stopped. An executor per process gives
isolation but adds a management thread per process, whose hand-offs with the event loop halved
the pool's rate. So each process here has its own pipe, read and written by the loop itself
(``add_reader``/``add_writer``, non-blocking), framed as ``multiprocessing.Connection`` frames
so the child side is a plain ``conn.recv()``/``conn.send()`` loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import struct
from collections.abc import Callable
from typing import Any

#: the child's message once it has started (imports done): the parent starts timing its tasks
READY = ("ready", None)
_HEADER = struct.Struct("!i")


def child_main(conn: Any) -> None:
    """The child: run ``cls().run(payload)`` for each ``(cls, payload)`` until ``None``."""
    with contextlib.suppress(EOFError, OSError):  # the parent is gone: nothing to answer
        conn.send(READY)
        while (message := conn.recv()) is not None:
            cls, payload = message
            try:
                reply: tuple[str, Any] = ("ok", cls().run(payload))
            except BaseException as exc:  # the task's own failure, raised in the caller
                reply = ("error", exc)
            try:
                conn.send(reply)
            except (EOFError, OSError):
                raise
            except Exception as exc:  # an unpicklable result or error: say what it was
                error = RuntimeError(f"the task's {reply[0]} cannot be sent back: {exc}")
                conn.send(("error", error))


class WorkerProcess:
    """A spawned child and the loop's two ends of its pipe.

    ``on_message(message)`` gets each reply in order; ``on_exit()`` is called once when the
    process is gone (killed, crashed, or told to stop), whatever the cause.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[Any], None],
        on_exit: Callable[[], None],
    ) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=child_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self._loop = loop
        self._conn = parent
        self._fd = parent.fileno()
        os.set_blocking(self._fd, False)
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._on_message = on_message
        self._on_exit = on_exit
        self.alive = True
        loop.add_reader(self._fd, self._readable)
        loop.add_reader(self.process.sentinel, self._exited)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, message: Any) -> None:
        """Queue ``message`` for the child; written as the pipe takes it, never blocking."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > 0x7FFFFFFF:
            raise ValueError("a task payload over 2 GiB cannot be sent to a worker process")
        pending = bool(self._outbox)
        self._outbox += _HEADER.pack(len(data))
        self._outbox += data
        if not pending:
            self._writable()

    def _writable(self) -> None:
        try:
            written = os.write(self._fd, self._outbox)
        except BlockingIOError:
            written = 0
        except OSError:
            self._exited()
            return
        del self._outbox[:written]
        if self._outbox:
            self._loop.add_writer(self._fd, self._writable)
        else:
            self._loop.remove_writer(self._fd)

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._exited()
            return
        self._inbox += chunk
        while len(self._inbox) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._inbox)
            end = _HEADER.size + size
            if len(self._inbox) < end:
                return
            message = pickle.loads(self._inbox[_HEADER.size : end])
            del self._inbox[:end]
            self._on_message(message)
            if not self.alive:
                return

    def _exited(self) -> None:
        if not self.alive:
            return
        self._detach()
        self._on_exit()

    def _detach(self) -> None:
        self.alive = False
        for remove in (self._loop.remove_reader, self._loop.remove_writer):
            remove(self._fd)
        self._loop.remove_reader(self.process.sentinel)
        self._conn.close()
        # reap it once it is gone, off the loop (a killed child exits at once)
        self._loop.run_in_executor(None, self.process.join, 5)

    def kill(self) -> None:
        """End the process now (a task overran, or the pool closes with tasks running)."""
        with contextlib.suppress(ProcessLookupError, ValueError):
            self.process.kill()
        if self.alive:
            self._detach()

    def stop(self) -> None:
        """Ask the child to exit after what it runs (the pool closes, nothing running)."""
        if self.alive:
            with contextlib.suppress(Exception):
                self.send(None)
