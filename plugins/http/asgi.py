"""The ASGI entry point: ``uvicorn --factory mega.plugins.http.asgi:create_app``.

Any ASGI server works. The lifespan protocol drives the kernel lifecycle, so ``mega_before_boot``,
``mega_after_boot`` and ``mega_before_shutdown`` run exactly once per server worker.
``mega.plugins.http.asgi:app`` is the same app built at import (for servers without factories).
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import threading
from pathlib import Path
from typing import Any

from mega import App, MegaConfigError, get_logger


class MegaASGI:
    """An ASGI app around a mega ``App``: lifespan boots and shuts it down."""

    def __init__(self, app: App) -> None:
        if "http" not in {p.name for p in app.plugins}:
            raise MegaConfigError(
                "http.not_enabled",
                "serving HTTP needs the 'http' plugin: add it to [app].plugins in mega.toml",
            )
        self.app = app
        self._http: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._http is None:
            raise RuntimeError(
                "the app is not booted: the ASGI server must run the lifespan "
                "protocol (uvicorn: --lifespan on)"
            )
        await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.app.boot()
                    self._http = self.app.extensions["http"].asgi
                    _note_shutdown_signals(self.app)
                except Exception as exc:
                    get_logger(plugin="http").error("http.boot_failed", error=str(exc))
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.app.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _note_shutdown_signals(app: App) -> None:
    """Chain onto the server's SIGINT/SIGTERM handlers: the app learns shutdown began when the
    signal arrives (readiness turns 503 then, and the one deadline starts), not only when the
    server, done draining requests, runs the lifespan shutdown; and plugins close long-lived
    connections (``mega_http_draining``) before the server drops them."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers live in the main thread only
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            first = app.phase == "running"
            app.begin_shutdown()
            if first:
                loop.call_soon_threadsafe(_start_draining, app)
            previous(signum, frame)

        signal.signal(sig, handler)


def _start_draining(app: App) -> None:
    task = asyncio.ensure_future(_drain(app))
    _draining.add(task)
    task.add_done_callback(_draining.discard)


#: drains in progress (a task nobody references may be collected before it ends)
_draining: set[asyncio.Task[None]] = set()


async def _drain(app: App) -> None:
    log = get_logger(plugin="http")
    # the shutdown goes on whatever a plugin raises here; its own shutdown hooks still run
    try:
        started = app.hooks.collect_by_plugin("mega_http_draining", app=app)
    except Exception as exc:
        log.error("http.draining_failed", error=f"{type(exc).__name__}: {exc}")
        return
    for plugin, result in started:
        if not inspect.isawaitable(result):
            continue
        try:
            await result
        except Exception as exc:
            log.error("http.draining_failed", plugin=plugin, error=f"{type(exc).__name__}: {exc}")


def create_app(root: str | Path | None = None) -> MegaASGI:
    """The ASGI app of the project at ``root`` (default: the nearest mega.toml upward)."""
    return MegaASGI(App.from_project(root))


def __getattr__(name: str) -> Any:
    if name == "app":
        return create_app()
    raise AttributeError(name)
