"""The servers ``mega serve`` runs: uvicorn (the default) and granian (the ``granian`` extra).

Both serve the same app, built in each worker by a factory of this module: the project's app
behind mega's own access log (one line per request, written when its answer starts, inside the
request's log context: it carries the request id), so a process writes one format whichever
server it runs. What differs is each server's own options, mapped from the same settings:

- uvicorn: request heads bounded by ``LimitedHttpToolsProtocol`` (431), forwarded headers from
  ``trusted_proxies`` only, WebSocket compression and frame cap from ``[plugins.ws]``, requests
  in flight at SIGTERM given ``timeout_graceful_shutdown``.
- granian (Rust, hyper): heads bounded by its read buffer (431), forwarded headers through
  uvicorn's proxy-headers middleware, and a deadline of our own: granian waits for requests in
  flight with no limit (measured: a stuck request kept a SIGTERMed worker up indefinitely), so
  ``Deadline`` cancels those still running when the app's one shutdown deadline passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mega import App, MegaConfigError, get_logger

from . import WORKERS_DIR_ENV
from .settings import HttpSettings

SERVERS = ("uvicorn", "granian")
#: ``mega serve`` sets it for its workers: "0" turns the access lines off
ACCESS_LOG_ENV = "MEGA_SERVE_ACCESS_LOG"
#: hyper's head limit is its read buffer, which it refuses to make smaller than this
GRANIAN_MIN_HEAD_BYTES = 8192
#: header lines hyper parses in a request head before answering 431 (not configurable)
GRANIAN_MAX_HEADERS = 100

# the servers' own loggers hand their records to the root logger, which mega routes into
# structlog: one format (JSON lines off a TTY) for the whole process
UVICORN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        name: {"level": "INFO", "handlers": [], "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    },
}
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"_granian": {"level": "INFO", "handlers": [], "propagate": True}},
}
#: query parameters whose values never reach an access line (as kernel/log.py masks them in
#: the servers' own records)
_SECRET_QUERY = re.compile(r"\b(token|access_token|api_key|password)=[^&\s\"']+")

Scope = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``mega serve`` asks of a server, from its flags and the project's settings."""

    host: str
    port: int
    workers: int
    reload: bool
    root: Path
    shutdown_timeout_s: float
    access_log: bool
    http: HttpSettings
    #: the ws plugin's settings; None when it is off (upgrades are refused)
    ws: Any


class AccessLog:
    """One line per HTTP request, ``<client> - "GET /path?q HTTP/1.1" 200`` (uvicorn's text),
    logged by ``logger`` (``uvicorn.access``, ``granian.access``) when the answer starts.

    It runs inside ``MegaHttpMiddleware``'s send, so the line carries the request id (and a
    trace id with tracing on). Measured: ~5 us a line, where uvicorn's own access record
    routed through logging cost ~14 us and its own formatter ~20 us.
    """

    __slots__ = ("app", "info", "logger")

    def __init__(self, app: Any, logger: str) -> None:
        self.app = app
        self.logger = logger
        self.info = get_logger().info

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_logged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.info(_access_line(scope, message["status"]), logger=self.logger)
            await send(message)

        await self.app(scope, receive, send_logged)


def _access_line(scope: Scope, status: int) -> str:
    client = scope.get("client")
    path = scope.get("raw_path") or scope["path"].encode()
    target = path.decode("latin-1")
    query = scope["query_string"]
    if query:
        text = query.decode("latin-1")
        if "=" in text:
            text = _SECRET_QUERY.sub(r"\1=***", text)
        target = f"{target}?{text}"
    if '"' in target:
        target = target.replace('"', "%22")
    peer = f"{client[0]}:{client[1]}" if client else ""
    return f'{peer} - "{scope["method"]} {target} HTTP/{scope["http_version"]}" {status}'


class Deadline:
    """Requests in flight at SIGTERM get until the app's one shutdown deadline, then are
    cancelled, so the worker goes on to the app's own shutdown phases (granian has no limit).

    A request costs it nothing: HTTP passes straight through (no frame, no bookkeeping;
    measured, tracking each request's task cost ~0.9 us). The requests still running at the
    deadline are found then, as the tasks whose coroutines await the app's ``__call__``. Its
    signal handler is chained onto those in place when the app has booted (granian's worker
    loop and the app's own, which starts the deadline), as ``asgi.py`` does.
    """

    def __init__(self, app: Any, mega_app: App) -> None:
        from .asgi import MegaASGI

        self.app = app
        self.mega_app = mega_app
        #: what every request's task awaits, at some depth
        self.mark = MegaASGI.__call__.__code__
        self.lifespan: asyncio.Task[Any] | None = None
        self.log = get_logger(plugin="http")

    def __call__(self, scope: Scope, receive: Any, send: Any) -> Awaitable[None]:
        kind = scope["type"]
        if kind == "http":
            return self.app(scope, receive, send)  # type: ignore[no-any-return]
        if kind == "websocket":
            return self.app(scope, receive, _coroutine_send(send))  # type: ignore[no-any-return]
        return self._lifespan(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Any, send: Any) -> None:
        self.lifespan = asyncio.current_task()
        await self.app(scope, receive, functools.partial(self._lifespan_send, send))

    async def _lifespan_send(self, send: Any, message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            self._watch_signals(asyncio.get_running_loop())
        await send(message)

    def _watch_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                previous(signum, frame)  # the app's handler first: it starts the deadline
                loop.call_soon_threadsafe(self._arm, loop)

            signal.signal(sig, handler)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        deadline = self.mega_app.shutdown_deadline
        loop.call_later(max(0.0, deadline - time.monotonic()), self._cut)

    def _cut(self) -> None:
        running = [
            t
            for t in asyncio.all_tasks()
            if t is not self.lifespan and _awaits(t.get_coro(), self.mark)
        ]
        if not running:
            return
        self.log.warning("http.requests_cut", count=len(running))
        # granian logs each cancelled request's traceback; the line above says it once
        logging.getLogger("_granian.utils").addFilter(_not_cancelled)
        for task in running:
            task.cancel()


def _awaits(awaited: Any, code: Any, depth: int = 8) -> bool:
    """Whether a coroutine running ``code`` is on the chain of awaits from ``awaited``."""
    for _ in range(depth):
        found = getattr(awaited, "cr_code", None)
        if found is None:
            return False
        if found is code:
            return True
        awaited = awaited.cr_await
    return False


def _not_cancelled(record: logging.LogRecord) -> bool:
    return "CancelledError" not in record.getMessage()


def _coroutine_send(send: Any) -> Callable[[dict[str, Any]], Coroutine[Any, Any, None]]:
    """granian's WebSocket ``send`` returns a future-like Rust object, not a coroutine. The ws
    plugin steps each frame's send as a coroutine (``run_eagerly``: no task per socket for a
    broadcast) and, when it waits, awaits what it waited on again, which that object does not
    survive ("yield was used instead of yield from"): a pending send waits on an asyncio
    future instead."""

    async def send_frame(message: dict[str, Any]) -> None:
        sent = send(message)
        if not sent.done():
            waiter = asyncio.get_running_loop().create_future()
            sent.add_done_callback(functools.partial(_settle, waiter))
            await waiter
        sent.result()  # its failure, if any

    return send_frame


def _settle(waiter: asyncio.Future[None], sent: Any) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _served(logger: str) -> tuple[Any, App]:
    """The project's ASGI app with its access lines, and the mega app inside it."""
    from .asgi import create_app

    inner = create_app()
    app: Any = inner
    if os.environ.get(ACCESS_LOG_ENV, "1") != "0":
        app = AccessLog(app, logger)
    return app, inner.app


def uvicorn_app() -> Any:
    """The factory uvicorn's workers call (``mega serve``)."""
    return _served("uvicorn.access")[0]


def granian_app() -> Any:
    """The factory granian's workers call (``mega serve --server granian``)."""
    app, mega_app = _served("granian.access")
    settings = mega_app.plugin_config("http")
    assert isinstance(settings, HttpSettings)
    proxies = list(settings.trusted_proxies)
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app = ProxyHeadersMiddleware(app, trusted_hosts=proxies)
    return Deadline(app, mega_app)


@contextlib.contextmanager
def worker_peers(workers: int) -> Iterator[None]:
    """With several workers, a private directory where they find each other (one /metrics
    scrape sums them all); removed when the server exits."""
    if workers < 2:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="mega-workers-") as directory:
        os.environ[WORKERS_DIR_ENV] = directory  # the workers inherit it
        try:
            yield
        finally:
            os.environ.pop(WORKERS_DIR_ENV, None)


def serve(server: str, options: ServeOptions) -> None:
    """Run ``server`` (one of ``SERVERS``) until a signal stops it."""
    run: Callable[[ServeOptions], None] = {"uvicorn": run_uvicorn, "granian": run_granian}[server]
    os.environ[ACCESS_LOG_ENV] = "1" if options.access_log else "0"
    with worker_peers(options.workers):
        run(options)


def run_uvicorn(options: ServeOptions) -> None:
    import uvicorn

    from .protocol import LimitedHttpToolsProtocol

    proxies = list(options.http.trusted_proxies)
    uvicorn.run(
        f"{__name__}:uvicorn_app",
        factory=True,
        host=options.host,
        port=options.port,
        reload=options.reload,
        workers=options.workers,
        lifespan="on",
        app_dir=str(options.root),
        reload_dirs=[str(options.root)] if options.reload else None,
        log_level="info",
        log_config=UVICORN_LOGGING,
        access_log=False,  # AccessLog writes them
        # requests in flight get what the one shutdown deadline allows; the app's own phases
        # (job drains, adapters, telemetry) then run within what is left of it
        # uvicorn annotates int but only hands it to asyncio.timeout, which takes a float
        timeout_graceful_shutdown=options.shutdown_timeout_s,  # type: ignore[arg-type]
        # a partial of a module-level class: it pickles into `--workers N` processes (uvicorn
        # takes anything callable as a protocol class; its annotation names classes only)
        http=functools.partial(  # type: ignore[arg-type]
            LimitedHttpToolsProtocol,
            max_header_bytes=options.http.max_header_bytes,
            max_headers=options.http.max_headers,
        ),
        # uvicorn would otherwise believe X-Forwarded-For / -Proto from 127.0.0.1 (or
        # $FORWARDED_ALLOW_IPS): any local process could claim any client address and https
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        **_uvicorn_websocket_options(options.ws),
    )


def _uvicorn_websocket_options(ws: Any) -> dict[str, Any]:
    if ws is None:
        return {"ws": "none"}  # no WebSocket routes: refuse upgrades outright
    return {
        "ws_per_message_deflate": ws.compression,
        # frames far above the app's own limit are refused before they are buffered; those
        # just above it reach the app, which closes with a reason naming the limit
        "ws_max_size": ws.max_message_bytes * 4 + 1024,
    }


def check_granian(options: ServeOptions) -> None:
    """Settings granian cannot honour fail here, before it starts."""
    http = options.http
    refused = [
        (
            "plugins.http.max_headers",
            http.max_headers,
            f"{GRANIAN_MAX_HEADERS}: granian answers 431 past {GRANIAN_MAX_HEADERS} header lines "
            "and cannot be set otherwise",
            http.max_headers != GRANIAN_MAX_HEADERS,
        ),
        (
            "plugins.http.max_header_bytes",
            http.max_header_bytes,
            f">= {GRANIAN_MIN_HEAD_BYTES}: granian bounds a request head by its read buffer, "
            "never smaller",
            http.max_header_bytes < GRANIAN_MIN_HEAD_BYTES,
        ),
        (
            "plugins.ws.compression",
            True,
            "false: granian's WebSockets have no permessage-deflate",
            options.ws is not None and options.ws.compression,
        ),
    ]
    for key, value, expected, broken in refused:
        if broken:
            raise MegaConfigError(
                "config.invalid_value",
                f"config key {key} is {value!r}, which mega serve --server granian cannot "
                f"honour (expected {expected}); change it or serve with --server uvicorn",
                {"key": key, "value": value, "expected": expected, "source": "--server granian"},
            )


def run_granian(options: ServeOptions) -> None:
    check_granian(options)
    try:
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
        from granian.log import LogLevels
        from granian.server import Server
    except ImportError as exc:
        raise MegaConfigError(
            "driver.missing_extra",
            "mega serve --server granian needs the Python package 'granian', which is not "
            "installed; install it with: pip install 'mega-framework[granian]'",
            {"module": "granian", "extra": "granian"},
        ) from exc
    server = Server(
        f"{__name__}:granian_app",
        factory=True,
        address=options.host,
        port=options.port,
        interface=Interfaces.ASGI,
        workers=options.workers,
        respawn_failed_workers=options.workers > 1,
        websockets=options.ws is not None,
        # hyper answers 431 once a head outgrows its read buffer
        http1_settings=HTTP1Settings(max_buffer_size=options.http.max_header_bytes),
        log_level=LogLevels.info,
        log_dictconfig=GRANIAN_LOGGING,
        log_access=False,  # AccessLog writes them
        working_dir=options.root,
        reload=options.reload,
        reload_paths=[options.root] if options.reload else None,
        # Deadline ends the requests in flight at the deadline and the app's phases follow;
        # this only kills a worker wedged past all of that
        workers_kill_timeout=math.ceil(options.shutdown_timeout_s) + 10,
    )
    server.serve()
