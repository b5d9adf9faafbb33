"""Finding installed plugins through the ``mega.plugins`` entry point group.

We read ``importlib.metadata`` ourselves rather than use pluggy's ``load_setuptools_entrypoints``:
that one imports every installed plugin and silently keeps the first of two same-named ones.
Here nothing is imported until a plugin is enabled, and a name shipped twice is an error.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
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
    def scan(cls) -> Catalog:
        """Read the ``mega.plugins`` entry points of every distribution on ``sys.path``.

        Same result as ``importlib.metadata.entry_points(group=...)``, about 3x cheaper: a
        distribution's ``entry_points.txt`` is parsed only when its text names our group, and
        name/version come from the ``<name>-<version>.dist-info`` folder name instead of parsing
        METADATA (measured: 4.5 ms + 2.5 ms → 1.9 ms for 63 distributions, bench/boot.py).
        """
        entries = []
        seen: set[str] = set()
        for dist in md.distributions():
            text = dist.read_text("entry_points.txt")
            if not text or f"[{ENTRY_POINT_GROUP}]" not in text:
                continue
            dist_name, version = _name_and_version(dist)
            # The same distribution can be reachable twice through sys.path (an editable install
            # plus a source checkout); that is one plugin, not a conflict.
            if dist_name in seen:
                continue
            seen.add(dist_name)
            for ep in dist.entry_points.select(group=ENTRY_POINT_GROUP):
                entries.append(InstalledPlugin(ep.name, ep.value, dist_name, version))
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


def _name_and_version(dist: md.Distribution) -> tuple[str, str]:
    folder = getattr(dist, "_path", None)  # PathDistribution; other finders fall back below
    stem = getattr(folder, "name", "").removesuffix(".dist-info")
    if stem != getattr(folder, "name", "") and stem.count("-") == 1:
        name, version = stem.split("-")
        return _canonical(name), version
    return _canonical(dist.metadata["Name"]), dist.version


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
