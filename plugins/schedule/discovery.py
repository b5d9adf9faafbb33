"""Finding schedule classes in ``apps/<app>/schedules/*.py``."""

from __future__ import annotations

import importlib
from pathlib import Path

from mega import MegaConfigError

from .schedule import Schedule


def discover_schedules(root: Path | None) -> list[type[Schedule]]:
    """Import every ``apps/*/schedules/*.py`` module under ``root``; return its schedules.

    A module that fails to import is an error naming the file. Only classes defined in the
    module itself count, so importing a schedule into another module does not add it twice.
    """
    if root is None:
        return []
    found: list[type[Schedule]] = []
    for path in sorted((root / "apps").glob("*/schedules/*.py")):
        if path.name.startswith("_"):
            continue
        module_name = ".".join(path.relative_to(root).with_suffix("").parts)
        try:
            module = importlib.import_module(module_name)
        except MegaConfigError:
            raise  # a schedule that failed validation already names itself
        except Exception as exc:
            raise MegaConfigError(
                "schedule.import_failed",
                f"schedule module {path.relative_to(root)} failed to import: "
                f"{type(exc).__name__}: {exc}",
                {"path": str(path)},
            ) from exc
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Schedule)
            and value.__module__ == module.__name__
            and value._cron is not None
        ]
    return found
