"""Structured logging: structlog, configured once per process by the first app built.

A TTY gets a console renderer, anything else JSON lines. Loggers are bound per app, per plugin and
per job/request through ``ctx.log``.

``get_logger`` returns a ``LazyLogger``: it filters by level itself and imports structlog only
when an event is actually emitted. Importing structlog costs ~45 ms here, most of it
``structlog.dev`` importing rich and pygments whenever rich is installed (typer installs it);
a clean, quiet boot should not pay that (measured by bench/boot.py).
"""

from __future__ import annotations

import sys
from typing import Any

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_settings: dict[str, Any] = {"level": "info", "format": "auto"}
_configured = False
_structlog_ready = False


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


def _structlog() -> Any:
    global _structlog_ready
    import structlog

    if not _structlog_ready:
        fmt = _settings["format"]
        console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
        processors: list[Any] = [
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ]
        if console:
            processors.append(structlog.dev.ConsoleRenderer())
        else:
            processors += [
                structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(),
            ]
        structlog.configure(
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(LEVELS[_settings["level"]]),
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=False,
        )
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
        logger = _structlog().get_logger("mega").bind(**self._bindings)
        getattr(logger, level)(event, **kw)

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
