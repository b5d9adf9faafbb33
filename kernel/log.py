"""Structured logging: structlog, configured once per process by the first app built.

A TTY gets a console renderer, anything else JSON lines (orjson). Loggers are bound per app, per
plugin and per job/request through ``ctx.log``; ``LOG_CONTEXT`` carries the ids of the unit of
work running now (request id, job, subject) into every line written inside it, whoever writes it;
plugins add processors (the tracing plugin adds trace and span ids). Records of the standard
library's ``logging`` (uvicorn, asyncio, third-party libraries) are routed through the same
pipeline, so a process writes one format.

``get_logger`` returns a ``LazyLogger``: it filters by level itself and imports structlog only
when an event is actually emitted. Importing structlog costs ~45 ms here, most of it
``structlog.dev`` importing rich and pygments whenever rich is installed (typer installs it);
a clean, quiet boot should not pay that (measured by bench/boot.py). An event runs the
configured processors itself, as structlog's bound logger would, without making one: a line
(an access line of every request included) costs ~5 us instead of ~12.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_settings: dict[str, Any] = {"level": "info", "format": "auto"}
_configured = False
_structlog_ready = False
#: the processors structlog was configured with (the same list: ``structlog.testing.
#: capture_logs`` edits it in place), run directly by ``LazyLogger`` for each event
_chain: list[Any] = []

#: fields of the unit of work running now, merged into every line (set a new dict, never
#: mutate the current one: tasks share it until they set their own)
LOG_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("mega_log_context", default=None)
#: structlog processors plugins add (``add_log_processor``), run before rendering
_extra_processors: list[Callable[..., Any]] = []


def set_log_context(fields: dict[str, Any] | None) -> Token[dict[str, Any] | None]:
    """Make ``fields`` the fields of every log line of the current unit of work (a request, a
    job run), replacing what it inherited; returns the token for ``reset_log_context``."""
    return LOG_CONTEXT.set(fields)


def reset_log_context(token: Token[dict[str, Any] | None]) -> None:
    """End what ``set_log_context``/``bind_log_context`` set (when the unit of work ends)."""
    LOG_CONTEXT.reset(token)


def bind_log_context(**fields: Any) -> Any:
    """Add ``fields`` to every log line of the current task (and tasks it starts); returns the
    token for ``reset_log_context`` when the unit of work should end them."""
    current = LOG_CONTEXT.get()
    return LOG_CONTEXT.set({**current, **fields} if current else fields)


def add_log_processor(processor: Callable[..., Any]) -> None:
    """A structlog processor ``(logger, method, event_dict) -> event_dict`` for every line."""
    if processor not in _extra_processors:
        _extra_processors.append(processor)
        global _structlog_ready
        _structlog_ready = False


#: log-sink adapters receiving a copy of each event at or above their level
_sinks: list[Any] = []


def add_log_sink(sink: Any) -> None:
    """Send every event at or above ``sink.level`` to ``sink.emit(event_dict)`` too.

    A sink is a ``log-sink`` adapter (the kernel attaches them when adapters connect and
    detaches them before adapters close); ``emit`` must not block: queue and write elsewhere.
    """
    if sink not in _sinks:
        _sinks.append(sink)


def remove_log_sink(sink: Any) -> None:
    if sink in _sinks:
        _sinks.remove(sink)


def _to_sinks(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    if _sinks:
        level = LEVELS.get(method, LEVELS["info"])
        for sink in list(_sinks):
            if level >= LEVELS.get(getattr(sink, "level", "warning"), LEVELS["warning"]):
                try:
                    sink.emit(dict(event))
                except Exception as exc:  # a failing sink must not stop the log line
                    sys.stderr.write(f"log sink {sink!r} failed: {exc!r}\n")
    return event


def _merge_context(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    fields = LOG_CONTEXT.get()
    if fields:
        for key, value in fields.items():
            event.setdefault(key, value)
    return event


def _orjson_dumps(event: Any, **_: Any) -> str:
    import orjson

    return orjson.dumps(event, default=repr).decode()


def _render_json(logger: Any, method: str, event: dict[str, Any]) -> str:
    """structlog's ``JSONRenderer(serializer=_orjson_dumps)``, one call less a line."""
    return _dumps(event, default=repr).decode()


#: the second a stamp was last made, and its text up to the seconds
_stamp_second: list[Any] = [-1, ""]


def _timestamp(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog's ``TimeStamper(fmt="iso", utc=True)``, same text (``…T14:26:02.004515Z``,
    no fraction on a whole second): the date part is formatted once a second (measured:
    3.5 to 0.6 us a line; ``datetime.now(utc).isoformat()`` alone is 2.9 us)."""
    now = time.time()
    second = int(now)
    if second != _stamp_second[0]:
        _stamp_second[0] = second
        _stamp_second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    micro = int((now - second) * 1_000_000)
    event["timestamp"] = f"{_stamp_second[1]}.{micro:06d}Z" if micro else f"{_stamp_second[1]}Z"
    return event


def _tracebacks(dict_tracebacks: Any) -> Callable[..., Any]:
    """``dict_tracebacks`` for the events that carry an exception only (1 us a line saved)."""

    def tracebacks(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if "exc_info" in event:
            return dict_tracebacks(logger, method, event)  # type: ignore[no-any-return]
        return event

    return tracebacks


class _StderrLogger:
    """Writes each rendered line to the *current* ``sys.stderr`` (structlog's PrintLogger
    keeps the stream it was made with, which breaks when stderr is swapped: test capture,
    daemonisers)."""

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


class _NotConfigured(BaseException):
    """Stands for structlog's DropEvent until structlog is imported."""


_STDERR = _StderrLogger()
_DropEvent: type[BaseException] = _NotConfigured
_dumps: Callable[..., bytes]


#: query parameters whose values never reach a log line
_SECRET_QUERY = r"\b(token|access_token|api_key|password)=[^&\s\"']+"  # compiled on first use


class _StdlibToStructlog(logging.Handler):
    """Routes standard-library records (uvicorn, asyncio, libraries) into structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = record.levelname.lower()
            if level not in LEVELS:
                level = "warning" if record.levelno >= logging.WARNING else "info"
            fields: dict[str, Any] = {"logger": record.name}
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            message = record.getMessage()
            if "token=" in message:  # an access line of a URL carrying a credential
                message = re.sub(_SECRET_QUERY, r"\1=***", message)
            LazyLogger({})._emit(level, message, fields)
        except Exception:
            self.handleError(record)


def _route_stdlib(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StdlibToStructlog) for h in root.handlers):
        root.addHandler(_StdlibToStructlog())
    root.setLevel(LEVELS[level])


def configure_logging(level: str = "info", fmt: str = "auto", *, force: bool = False) -> None:
    """Set the process's log level and format; later calls are ignored unless ``force``.

    ``fmt``: ``console``, ``json``, or ``auto`` (console when stderr is a TTY).
    """
    global _configured, _structlog_ready
    if _configured and not force:
        return
    _settings.update(level=level, format=fmt)
    _configured = True
    _structlog_ready = False  # (re)configure structlog at the next emitted event
    _route_stdlib(level)


def _structlog() -> Any:
    global _structlog_ready
    import structlog

    if not _structlog_ready:
        global _chain, _DropEvent
        current = structlog.get_config()["processors"]
        if any(type(p).__name__ == "LogCapture" for p in current):
            # structlog.testing.capture_logs began before the first event: emit through its
            # chain, and configure ours once it is over
            _chain, _DropEvent = current, structlog.DropEvent
            return structlog
        fmt = _settings["format"]
        console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
        processors: list[Any] = [
            structlog.contextvars.merge_contextvars,
            _merge_context,
            *_extra_processors,
            structlog.processors.add_log_level,
            _timestamp,
            _to_sinks,
        ]
        if console:
            processors.append(structlog.dev.ConsoleRenderer())
        else:
            global _dumps
            import orjson

            _dumps = orjson.dumps
            processors += [_tracebacks(structlog.processors.dict_tracebacks), _render_json]
        structlog.configure(
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(LEVELS[_settings["level"]]),
            logger_factory=_stderr_logger,
            cache_logger_on_first_use=False,
        )
        _chain, _DropEvent = processors, structlog.DropEvent
        _structlog_ready = True
    return structlog


class LazyLogger:
    """A structlog bound logger that imports structlog on the first event it emits.

    Supports ``bind``/``unbind``/``new`` and the level methods; anything else is passed to the
    real structlog logger.
    """

    __slots__ = ("_bindings",)

    def __init__(self, bindings: dict[str, Any]) -> None:
        self._bindings = bindings

    def bind(self, **bindings: Any) -> LazyLogger:
        return LazyLogger({**self._bindings, **bindings})

    def unbind(self, *keys: str) -> LazyLogger:
        return LazyLogger({k: v for k, v in self._bindings.items() if k not in keys})

    def new(self, **bindings: Any) -> LazyLogger:
        return LazyLogger(bindings)

    @property
    def bindings(self) -> dict[str, Any]:
        return dict(self._bindings)

    def _emit(self, level: str, event: str, kw: dict[str, Any]) -> None:
        if LEVELS[level] < LEVELS[_settings["level"]]:
            return
        if not _structlog_ready:
            _structlog()
        # what structlog's bound logger does with an event (bindings, then the keywords, then
        # the event; every configured processor; the last one renders), without building a
        # bound logger per event: measured, get_logger().bind() alone was 5 of a line's 12 us
        fields = {**self._bindings, **kw} if self._bindings else kw  # kw: a dict of its own
        fields["event"] = event
        try:
            for processor in _chain:
                fields = processor(_STDERR, level, fields)
        except _DropEvent:
            return
        _STDERR.msg(fields)  # type: ignore[arg-type]

    def debug(self, event: str, **kw: Any) -> None:
        self._emit("debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._emit("info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._emit("warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._emit("error", event, kw)

    def critical(self, event: str, **kw: Any) -> None:
        self._emit("critical", event, kw)

    def exception(self, event: str, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._emit("error", event, kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(_structlog().get_logger("mega").bind(**self._bindings), name)


def get_logger(**bindings: Any) -> LazyLogger:
    """A logger carrying ``bindings`` on every event."""
    return LazyLogger(bindings)
