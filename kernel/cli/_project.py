"""Finding and loading the project the CLI runs in (the public form is ``mega.project_app``).

Imports are deferred: ``mega --help`` and ``--version`` outside a project import nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

if TYPE_CHECKING:
    from mega.app import App


@overload
def load_project_app(root: Path | None = ..., *, required: Literal[True] = ...) -> App: ...
@overload
def load_project_app(root: Path | None = ..., *, required: bool) -> App | None: ...


def load_project_app(root: Path | None = None, *, required: bool = True) -> App | None:
    """Build (not boot) the app of the project at or above ``root``/cwd."""
    from mega.project import project_app

    return project_app(root, required=required)


def tool_app(*, keep: tuple[str, ...] = ()) -> App:
    """The project's app for a one-shot tool (``mega jobs``, ``mega migrate``): built with
    ``tool=True``, so no plugin starts background work. ``keep`` is no longer needed (the
    command starts what it needs) and is ignored."""
    from mega.project import project_app

    return project_app(tool=True)
