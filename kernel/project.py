"""Finding the project a command runs in, and building its app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from .config import find_project_root
from .errors import MegaConfigError

if TYPE_CHECKING:
    from .app import App


@overload
def project_app(
    root: Path | None = ..., *, tool: bool = ..., required: Literal[True] = ...
) -> App: ...
@overload
def project_app(root: Path | None = ..., *, tool: bool = ..., required: bool) -> App | None: ...


def project_app(
    root: Path | None = None, *, tool: bool = False, required: bool = True
) -> App | None:
    """Build (not boot) the app of the project at or above ``root`` (default: the working
    directory) — what a plugin's CLI command uses to reach the app and its config.

    The project's ``.env`` is loaded into the process environment first (without overriding
    it), so the user's own code sees the values the config does. ``tool=True`` builds it for a
    one-shot command: plugins start no background work (``App.tool``). ``required=False``
    returns None outside a project instead of raising ``config.not_found``.
    """
    from dotenv import load_dotenv

    from .app import App

    found = find_project_root(root)
    if found is None:
        if not required:
            return None
        raise MegaConfigError(
            "config.not_found",
            f"no mega.toml in {(root or Path.cwd()).resolve()} or any parent directory; run "
            "this inside a project, or create one with `mega new <project>`",
        )
    load_dotenv(found / ".env", override=False)
    return App.from_project(found, tool=tool)
