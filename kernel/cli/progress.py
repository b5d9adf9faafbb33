"""Progress of long CLI work: a rich bar on a TTY, plain lines elsewhere.

A log collector or CI reading the output gets one line per milestone, never carriage returns
or escape codes; a person at a terminal gets a bar that redraws in place (on stderr, so
stdout keeps only the command's result).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, TextIO

#: off a TTY, a ``done/total`` line each time the work passes another tenth of it
PLAIN_STEPS = 10


class Progress:
    """One piece of work of ``total`` units (None: unknown, a spinner).

    ``advance()`` counts units; ``note(text)`` prints a line (above the bar on a TTY);
    ``describe(text)`` changes what the bar says it is doing.
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        tty: bool | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.description = description
        self.total = total
        self.done = 0
        self._shown = 0  # tenths already printed, off a TTY
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            counted = (BarColumn(), MofNCompleteColumn()) if self.total is not None else ()
            self._bar = Bar(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                *counted,
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def advance(self, units: int = 1) -> None:
        self.done += units
        if self._bar is not None:
            self._bar.advance(self._task, units)
            return
        if not self.total:
            return
        tenths = self.done * PLAIN_STEPS // self.total
        if tenths > self._shown:
            self._shown = tenths
            self._line(f"{self.description}: {self.done}/{self.total}")

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            self._line(text)

    def describe(self, text: str) -> None:
        self.description = text
        if self._bar is not None:
            self._bar.update(self._task, description=text)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


@contextlib.contextmanager
def step(
    description: str, *, tty: bool | None = None, stream: TextIO | None = None
) -> Iterator[Progress]:
    """A step of unknown length: a spinner on a TTY; elsewhere a ``description...`` line
    first, then what the step notes."""
    with Progress(description, None, tty=tty, stream=stream) as progress:
        if not progress.tty:
            progress.note(f"{description}...")
        yield progress
