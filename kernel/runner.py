"""Running an app until SIGINT/SIGTERM, then shutting it down gracefully.

The first signal starts a graceful shutdown bounded by ``[app] shutdown_timeout_ms``; a second
signal while it runs exits the process at once (status 128 + signal number).
"""

from __future__ import annotations

import asyncio
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
        await app.boot()
        if on_ready is not None:
            result = on_ready(app)
            if result is not None:
                await result
        await stop.wait()
        await app.shutdown()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
