"""Structured logging: structlog, configured once per process by the first app that boots.

A TTY gets a console renderer, anything else JSON lines. Loggers are bound per app, per plugin and
per job/request through ``ctx.log``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_configured = False


def configure_logging(level: str = "info", fmt: str = "auto", *, force: bool = False) -> None:
    """Configure structlog for the process; later calls are ignored unless ``force``."""
    global _configured
    if _configured and not force:
        return
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if console:
        processors.append(structlog.dev.ConsoleRenderer())
    else:
        processors += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(**bindings: Any) -> Any:
    """A structlog logger bound with ``bindings``."""
    return structlog.get_logger("mega").bind(**bindings)
