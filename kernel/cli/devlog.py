"""``mega dev``'s output: its own lines and its children's, compact on a TTY.

A child's JSON log line becomes ``12:03:04 web    info  http.request status=200 …``; lines
that are not JSON (an ``error[code]: …``, a traceback) are printed as they are. Off a TTY every
child line passes through unchanged, so a log collector still reads JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

import typer


class Output:
    """Where the supervisor and its children write: compact lines on a TTY; the children's
    lines as they are (JSON) elsewhere, so a log collector still reads them."""

    LEVELS: dict[str, str] = {
        "debug": "blue", "info": "green", "warning": "yellow", "error": "red", "critical": "red"
    }  # fmt: skip
    #: fields each line has anyway, or that the compact form shows in its own place
    SKIP = frozenset({"event", "level", "timestamp", "app", "logger", "exception"})
    #: loggers whose info lines are lifecycle chatter ("Uvicorn running on <its inner port>")
    QUIET_LOGGERS = frozenset({"uvicorn.error"})

    def __init__(self, tty: bool, write: Callable[[str], None] | None = None) -> None:
        self.tty = tty
        self._write = write or self._stderr

    @staticmethod
    def _stderr(text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def say(self, message: str) -> None:
        """A line of the supervisor's own."""
        prefix = typer.style("dev", fg="cyan", bold=True) if self.tty else "dev"
        self._write(f"{prefix}: {message}")

    def child_line(self, label: str, text: str) -> None:
        if not self.tty:
            self._write(text)
            return
        line = self.compact(label, text)
        if line is not None:
            self._write(line)

    def compact(self, label: str, text: str) -> str | None:
        """``12:03:04 web    info  http.request method=GET path=/ status=200``; None for the
        server's own start/stop chatter (the supervisor says where it serves)."""
        try:
            event = json.loads(text)
        except ValueError:
            event = None
        tag = typer.style(f"{label:<6}", fg="magenta")
        if not isinstance(event, dict) or "event" not in event:
            return f"{_clock(None)} {tag} {text}"
        level = str(event.get("level", "info"))
        if level == "info" and event.get("logger") in self.QUIET_LOGGERS:
            return None
        fields = " ".join(f"{k}={_short(v)}" for k, v in event.items() if k not in self.SKIP)
        line = (
            f"{_clock(event.get('timestamp'))} {tag} "
            f"{typer.style(f'{level:<5}', fg=self.LEVELS.get(level, 'white'))} "
            f"{event['event']}{' ' + typer.style(fields, dim=True) if fields else ''}"
        )
        for problem in event.get("exception") or []:
            if isinstance(problem, dict):
                frames = problem.get("frames") or [{}]
                where = frames[-1]
                line += (
                    f"\n    {problem.get('exc_type')}: {problem.get('exc_value')}"
                    f"  ({where.get('filename')}:{where.get('lineno')})"
                )
        return line


def _clock(timestamp: Any) -> str:
    """Local ``HH:MM:SS`` of an ISO timestamp (or now)."""
    try:
        moment = dt.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        moment = dt.datetime.now(dt.UTC)
    return typer.style(moment.astimezone().strftime("%H:%M:%S"), dim=True)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
