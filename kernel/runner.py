"""Running an app until SIGINT/SIGTERM, then shutting it down gracefully.

The first signal starts a graceful shutdown bounded by ``[app] shutdown_timeout_ms``; a second
signal while it runs exits the process at once (status 128 + signal number).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import App

SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_until_signal(
    app: App,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[App], Awaitable[None] | None] | None = None,
) -> None:
    """Boot ``app``, wait for a signal (or ``stop``), shut it down."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        name = signal.Signals(signum).name
        if len(received) == 1:
            app.begin_shutdown()  # readiness 503 and the deadline start now
            app.log.info(
                "app.signal",
                signal=name,
                action="graceful shutdown",
                deadline_ms=app.config.app.shutdown_timeout_ms,
            )
            stop.set()
        else:
            app.log.warning("app.signal", signal=name, action="forced exit")
            os._exit(128 + signum)

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        if not await _boot_unless_stopped(app, stop):
            return
        if on_ready is not None:
            result = on_ready(app)
            if result is not None:
                await result
        await stop.wait()
        await app.shutdown()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


async def _boot_unless_stopped(app: App, stop: asyncio.Event) -> bool:
    """Boot, unless a signal comes first: a boot waiting for a server that is down (an adapter
    retrying its connection) is cancelled, what it had started is stopped, and False returned."""
    boot = asyncio.ensure_future(app.boot())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({boot, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if boot.done():
        boot.result()  # a failed boot raises here
        return True
    boot.cancel()  # App.boot stops the plugins and adapters it had started
    with contextlib.suppress(asyncio.CancelledError):
        await boot
    app.log.info("app.boot_cancelled", reason="signal during boot")
    return False
