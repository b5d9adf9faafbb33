"""Importing a project's own modules by kind: ``apps/<app>/<folder>/*.py``.

Schedules, jobs, workers (and later channels) are found the same way: every module in the
folder of every app is imported, and the classes *defined* there that pass a test are returned.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import MegaConfigError


def discover_classes(
    root: Path | None, folder: str, keep: Callable[[type], bool], *, what: str
) -> list[type[Any]]:
    """Import ``<root>/apps/*/<folder>/*.py``; return the classes defined there that ``keep``.

    A module that fails to import is a ``<what>.import_failed`` error naming the file (a
    ``MegaConfigError`` raised by a class's own validation passes through: it names the class).
    Only classes defined in the module itself count, so one imported elsewhere is not found twice.
    Files starting with ``_`` are skipped.
    """
    if root is None:
        return []
    found: list[type[Any]] = []
    for path in sorted((root / "apps").glob(f"*/{folder}/*.py")):
        if path.name.startswith("_"):
            continue
        module_name = ".".join(path.relative_to(root).with_suffix("").parts)
        try:
            module = importlib.import_module(module_name)
        except MegaConfigError:
            raise
        except Exception as exc:
            raise MegaConfigError(
                f"{what}.import_failed",
                f"{what} module {path.relative_to(root)} failed to import: "
                f"{type(exc).__name__}: {exc}",
                {"path": str(path)},
            ) from exc
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__ and keep(value)
        ]
    return found
