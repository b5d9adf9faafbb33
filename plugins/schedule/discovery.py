"""Finding schedule classes in ``apps/<app>/schedules/*.py``."""

from __future__ import annotations

from pathlib import Path

from mega import discover_classes

from .schedule import Schedule


def discover_schedules(root: Path | None) -> list[type[Schedule]]:
    """Import every ``apps/*/schedules/*.py`` module under ``root``; return its schedules.

    A module that fails to import is an error naming the file (``schedule.import_failed``).
    """
    return discover_classes(
        root,
        "schedules",
        lambda cls: issubclass(cls, Schedule) and cls._cron is not None,
        what="schedule",
    )
