"""Importing a project's own modules by kind: ``apps/<app>/<folder>/*.py``.

Routes, schedules, jobs, workers (and later channels) are found the same way: every module in
the folder of every app is imported, in path order; files starting with ``_`` are skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import MegaConfigError


def import_app_modules(
    root: Path | None, folder: str, *, code: str, what: str
) -> Iterator[tuple[Path, ModuleType]]:
    """Yield ``(path relative to root, module)`` for each ``<root>/apps/*/<folder>/*.py``.

    A module that fails to import raises ``MegaConfigError(code)`` naming the file; a
    ``MegaConfigError`` raised by the module itself (a class's own validation) passes through.
    """
    if root is None:
        return
    for path in sorted((root / "apps").glob(f"*/{folder}/*.py")):
        if path.name.startswith("_"):
            continue
        rel = path.relative_to(root)
        try:
            module = importlib.import_module(".".join(rel.with_suffix("").parts))
        except MegaConfigError:
            raise
        except Exception as exc:
            raise MegaConfigError(
                code,
                f"{what} module {rel} failed to import: {type(exc).__name__}: {exc}",
                {"path": str(rel)},
            ) from exc
        yield rel, module


def discover_classes(
    root: Path | None, folder: str, keep: Callable[[type], bool], *, what: str
) -> list[type[Any]]:
    """The classes defined in ``<root>/apps/*/<folder>/*.py`` that ``keep`` accepts.

    Import failures are ``<what>.import_failed``. Only classes defined in the module itself
    count, so one imported into another module is not found twice.
    """
    return [
        value
        for _rel, module in import_app_modules(
            root, folder, code=f"{what}.import_failed", what=what
        )
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__ and keep(value)
    ]
