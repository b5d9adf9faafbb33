"""``mega console``: a Python shell with the project's app booted as a tool.

The app is built with ``tool=True`` (no job consumption, no schedule fires: what the shell
does is all that runs), its adapters connected. ``await`` works at the top level: the app
lives on one event loop, and every statement that awaits runs on it. IPython is used when it
is installed (its ``%autoawait`` on that loop), the standard library's console otherwise —
the same machinery as ``python -m asyncio``. ``-c`` runs one piece of code and exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._errors import handle_errors


@handle_errors
def console_command(
    command: Annotated[
        str | None,
        typer.Option(
            "-c",
            "--command",
            help="Run this code (top-level await allowed), print the last expression's repr, "
            "exit; exit status 1 with the error when it raises.",
        ),
    ] = None,
    plain: Annotated[
        bool,
        typer.Option("--plain", help="The standard asyncio console even if IPython is installed."),
    ] = False,
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """A Python shell on the booted app: top-level await; app, ctx, models, jobs, services.

    The app boots as a tool: no job is consumed and no schedule fires unless you do it.
    """
    from mega.project import project_app

    from . import repl

    app = project_app(root, tool=True)
    names = repl.namespace(app)  # imports the project's modules: a broken one fails before boot
    if command is not None:
        raise typer.Exit(repl.run_command(app, names, command))
    if not plain and repl.has_ipython():
        repl.ipython(app, names)
    else:
        repl.asyncio_console(app, names)
