"""``mega run``: boot the project's app and keep it running until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from ._errors import handle_errors
from ._project import load_project_app


@handle_errors
def run_command(
    once: Annotated[bool, typer.Option("--once", help="Boot, then shut down at once.")] = False,
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """Boot the app (every enabled plugin) and run until Ctrl-C / SIGTERM."""
    from mega.runner import run_until_signal

    app = load_project_app(root)
    stop = asyncio.Event()

    def ready(_: object) -> None:
        names = ", ".join(p.name for p in app.plugins) or "(none)"
        typer.echo(f"{app.config.app.name}: booted with plugins {names}", err=True)
        if once:
            stop.set()
        else:
            typer.echo("running; press Ctrl-C to shut down", err=True)

    asyncio.run(run_until_signal(app, stop=stop, on_ready=ready))
    typer.echo(f"{app.config.app.name}: stopped cleanly", err=True)
