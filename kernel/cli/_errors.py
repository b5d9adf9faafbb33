"""How the CLI reports a ``MegaError``: ``error[code]: message`` on stderr, exit status 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer

P = ParamSpec("P")
R = TypeVar("R")


def fail(code: str, message: str) -> NoReturn:
    typer.echo(f"error[{code}]: {message}", err=True)
    raise typer.Exit(1)


def report(exc: Any) -> None:
    """Print a MegaError; a MegaProblems prints each problem on its own line."""
    problems = getattr(exc, "problems", None)
    if problems:
        typer.echo(f"error[{exc.code}]: {len(problems)} problems:", err=True)
        for problem in problems:
            typer.echo(f"  - error[{problem.code}]: {problem.message}", err=True)
    else:
        typer.echo(f"error[{exc.code}]: {exc.message}", err=True)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ``MegaError`` raised by a command into a clear message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from mega.errors import MegaError

        try:
            return func(*args, **kwargs)
        except MegaError as exc:
            report(exc)
            raise typer.Exit(1) from None

    return wrapper
