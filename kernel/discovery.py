"""Finding installed plugins through the ``mega.plugins`` entry point group.

We read ``importlib.metadata`` ourselves rather than use pluggy's ``load_setuptools_entrypoints``:
that one imports every installed plugin and silently keeps the first of two same-named ones.
Here nothing is imported until a plugin is enabled, and a name shipped twice is an error.
"""

# No `from __future__ import annotations` here: with it, typing.NamedTuple compiles a
# ForwardRef per field at import (41 compile() calls at boot, measured in bench/boot.py).

import importlib
import importlib.metadata as md
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from .errors import MegaConfigError
from .spec import PluginSpec

ENTRY_POINT_GROUP = "mega.plugins"
FRAMEWORK_DISTRIBUTION = "mega-framework"


class InstalledPlugin(NamedTuple):
    """One entry point in the ``mega.plugins`` group: known, not imported."""

    name: str
    value: str
    distribution: str
    dist_version: str

    @property
    def first_party(self) -> bool:
        return self.distribution == FRAMEWORK_DISTRIBUTION

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.dist_version}"


class LoadedPlugin(NamedTuple):
    """An enabled plugin, imported: its module (the pluggy plugin object) and its spec."""

    installed: InstalledPlugin
    module: ModuleType
    spec: PluginSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version or self.installed.dist_version


class Catalog:
    """Every installed plugin by name; names shipped by two distributions are kept apart."""

    def __init__(self, entries: list[InstalledPlugin]) -> None:
        by_name: dict[str, list[InstalledPlugin]] = {}
        for entry in entries:
            by_name.setdefault(entry.name, []).append(entry)
        self._by_name = by_name

    @classmethod
    def scan(cls) -> "Catalog":
        """Read the ``mega.plugins`` entry points of every distribution on ``sys.path``.

        Same result as ``importlib.metadata.entry_points(group=...)`` for distributions installed
        as ``*.dist-info``/``*.egg-info`` folders (how pip installs), several times cheaper:
        see ``_candidates``. Name and version come from the ``<name>-<version>.dist-info`` folder
        name instead of parsing METADATA (measured in bench/boot.py: 7 ms → under 1 ms).
        """
        entries = []
        seen: set[str] = set()
        for folder, text, dist in _candidates():
            dist_name, version = _name_and_version(folder, dist)
            # The same distribution can be reachable twice through sys.path (an editable install
            # plus a source checkout); that is one plugin, not a conflict.
            if dist_name in seen:
                continue
            seen.add(dist_name)
            for name, value in _group(text):
                entries.append(InstalledPlugin(name, value, dist_name, version))
        return cls(entries)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def entries(self) -> list[InstalledPlugin]:
        """One entry per installed name (the first when a name is shipped twice)."""
        return [found[0] for _, found in sorted(self._by_name.items())]

    def duplicate_errors(self) -> list[MegaConfigError]:
        """One error per plugin name that two or more distributions ship."""
        return [
            _duplicate(name, found)
            for name, found in sorted(self._by_name.items())
            if len(found) > 1
        ]

    def resolve(self, name: str) -> InstalledPlugin:
        """The installed plugin called ``name``; an unknown or ambiguous name is an error."""
        found = self._by_name.get(name)
        if not found:
            raise unknown_name_error(
                "plugin",
                name,
                self.names,
                code="plugin.unknown",
                hint="install the distribution that ships it, or fix the name in [app].plugins",
            )
        if len(found) > 1:
            raise _duplicate(name, found)
        return found[0]


def load(entry: InstalledPlugin) -> LoadedPlugin:
    """Import an enabled plugin's module and check its ``PluginSpec``."""
    try:
        module = importlib.import_module(entry.value)
    except Exception as exc:
        raise MegaConfigError(
            "plugin.import_failed",
            f"plugin {entry.name!r} ({entry.origin}) failed to import module {entry.value!r}: "
            f"{type(exc).__name__}: {exc}. Fix or reinstall that distribution, or remove "
            f"{entry.name!r} from [app].plugins",
            {
                "plugin": entry.name,
                "distribution": entry.distribution,
                "module": entry.value,
                "cause": repr(exc),
            },
        ) from exc
    spec = getattr(module, "plugin", None)
    if not isinstance(spec, PluginSpec):
        raise MegaConfigError(
            "plugin.missing_spec",
            f"plugin {entry.name!r} ({entry.origin}): module {entry.value!r} must define "
            f"`plugin = mega.PluginSpec(name={entry.name!r}, ...)`, found {type(spec).__name__}",
            {"plugin": entry.name, "distribution": entry.distribution},
        )
    if spec.name != entry.name:
        raise MegaConfigError(
            "plugin.name_mismatch",
            f"plugin entry point {entry.name!r} ({entry.origin}) loads a PluginSpec named "
            f"{spec.name!r}; the spec name must equal the entry point name",
            {"entry_point": entry.name, "spec_name": spec.name, "distribution": entry.distribution},
        )
    return LoadedPlugin(entry, module, spec)


def unknown_name_error(
    what: str, name: str, known: list[str], *, code: str, hint: str
) -> MegaConfigError:
    """``<what> 'x' is not known (did you mean 'y'?). Known: a, b. To fix: <hint>``."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(known) if known else "(none)"
    return MegaConfigError(
        code,
        f"{what} {name!r} is not known{suggestion}. Known: {listing}. To fix: {hint}",
        {"name": name, "known": known, "suggestion": close[0] if close else None},
    )


def _duplicate(name: str, found: list[InstalledPlugin]) -> MegaConfigError:
    origins = " and ".join(repr(e.origin) for e in found)
    return MegaConfigError(
        "plugin.duplicate_name",
        f"plugin name {name!r} is shipped by two distributions, {origins}; uninstall one of them",
        {"name": name, "distributions": [e.distribution for e in found]},
    )


def _candidates() -> Iterator[tuple[str, str, Path | md.Distribution]]:
    """``(folder name, entry_points.txt text, folder or distribution)`` of every distribution
    whose ``entry_points.txt`` names our group, in ``sys.path`` order.

    For a plain directory on ``sys.path`` this lists it and reads each ``entry_points.txt``
    directly, instead of building an ``importlib.metadata`` distribution (and its pathlib
    machinery) for every installed package just to find most have no mega plugin; the folder
    path stands in for the distribution until its METADATA is needed. Anything else on
    ``sys.path`` (a zip) goes through ``importlib.metadata`` entirely.
    """
    marker = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        directory = entry or "."
        if not os.path.isdir(directory):
            for dist in md.distributions(path=[entry]):
                text = dist.read_text("entry_points.txt") or ""
                if marker in text:
                    yield "", text, dist
            continue
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(
                    os.path.join(directory, name, "entry_points.txt"), encoding="utf-8"
                ) as fh:
                    text = fh.read()
            except OSError:
                continue
            if marker in text:
                yield name, text, Path(directory, name)


def _group(text: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of our section of an ``entry_points.txt`` (INI format)."""
    found = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            inside = line == f"[{ENTRY_POINT_GROUP}]"
        elif inside:
            name, sep, value = line.partition("=")
            if sep:
                found.append((name.strip(), value.strip()))
    return found


def _name_and_version(folder: str, found: Path | md.Distribution) -> tuple[str, str]:
    stem = folder.removesuffix(".dist-info")
    if stem != folder and stem.count("-") == 1:
        name, version = stem.split("-")
        return _canonical(name), version
    dist = md.PathDistribution(found) if isinstance(found, Path) else found
    return _canonical(dist.metadata["Name"]), dist.version


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
