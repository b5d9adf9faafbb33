"""Finding and loading the project the CLI runs in."""

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
    """Build (not boot) the app of the project at or above ``root``/cwd.

    The project's ``.env`` is loaded into the process environment (without overriding it), so the
    user's own code sees the same values the config does.
    """
    from dotenv import load_dotenv

    from mega.app import App
    from mega.config import find_project_root
    from mega.errors import MegaConfigError

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
    return App.from_project(found)


#: settings that keep an app from starting background work while a CLI tool uses it
TOOL_SETTINGS = {
    "jobs": {"consume": "false", "outbox_relay": "false"},
    "schedule": {"start": "false"},
}


def tool_app(*, keep: tuple[str, ...] = ()) -> App:
    """The project's app for a one-shot tool (``mega jobs``, ``mega migrate``): plugins that
    would start background work (consuming jobs, firing schedules) are told not to — only
    those that are enabled, so no stray config table is made for the others. ``keep`` names
    ``"plugin.key"`` settings left as configured (``mega worker`` keeps the outbox relay)."""
    import os

    from mega.app import App
    from mega.config import find_project_root, load_config

    root = find_project_root(None)
    enabled = set(load_config(root).app.plugins) if root is not None else set()
    environ = dict(os.environ)
    for plugin, settings in TOOL_SETTINGS.items():
        if plugin in enabled:
            for key, value in settings.items():
                if f"{plugin}.{key}" in keep:
                    continue
                environ[f"MEGA__PLUGINS__{plugin.upper()}__{key.upper()}"] = value
    return App.from_project(root, environ=environ)
