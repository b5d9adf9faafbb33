"""``mega dev``: serve, work and fire schedules for development, restarted on every edit.

One supervisor runs the project's long-running commands as child processes: ``mega serve``
(where an enabled plugin provides it; schedules fire in it) or else ``mega run``, and
``mega worker`` (where one is provided). It watches ``apps/`` (routes, controllers, models,
views, locales…), top-level ``templates/`` and ``locales/``, ``mega.toml`` and ``.env``.

On a change it builds the new app first (config errors are printed and change nothing), then
starts the new server beside the running one and waits until it answers; only then does its
port proxy send new connections to it and the old one stop. A version that fails to start is
printed and the previous one keeps serving until the next save. The worker is restarted after
the server. On a TTY the children's JSON log lines are printed compactly; elsewhere as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._errors import handle_errors


@handle_errors
def dev_command(
    host: Annotated[
        str | None, typer.Option(help="Interface (default: the serving plugin's host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: the serving plugin's port).")
    ] = None,
    worker: Annotated[
        bool, typer.Option(help="Also run `mega worker` when a plugin provides it.")
    ] = True,
    once: Annotated[
        bool, typer.Option("--once", help="Start everything, wait until it is up, stop.")
    ] = False,
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """Serve, run the worker and schedules for development; restart them on every edit.

    A broken edit is printed and the previous version keeps running until it is fixed.
    """
    import asyncio
    import os
    import sys

    from mega.config import find_project_root
    from mega.errors import MegaConfigError

    from .devlog import Output
    from .supervisor import Supervisor, make_plan

    found = find_project_root(root)
    if found is None:
        raise MegaConfigError(
            "config.not_found",
            f"no mega.toml in {(root or Path.cwd()).resolve()} or any parent directory; run "
            "this inside a project, or create one with `mega new <project>`",
        )
    environ = dict(os.environ)  # before anything loads .env: children read the file anew
    first = make_plan(found, environ, worker=worker)  # a broken config stops here, with its error
    supervisor = Supervisor(
        found,
        environ,
        host=host or first.host,
        port=port if port is not None else first.port,
        worker=worker,
        out=Output(sys.stderr.isatty()),
    )
    raise typer.Exit(asyncio.run(supervisor.run(first, once=once)))
