"""Finding installed plugins through the ``mega.plugins`` entry point group.

We read ``importlib.metadata`` ourselves rather than use pluggy's ``load_setuptools_entrypoints``:
that one imports every installed plugin and silently keeps the first of two same-named ones.
Here nothing is imported until a plugin is enabled, and a name shipped twice is an error.
"""

# The records here are plain classes with __slots__, not NamedTuples or dataclasses: a NamedTuple
# costs ~150 us to define and a dataclass ~1 ms (both generate code with eval/exec), and the
# kernel's import is counted in every boot (bench/boot.py).

import importlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from .errors import MegaConfigError
from .spec import PluginSpec

if TYPE_CHECKING:
    import importlib.metadata as md

ENTRY_POINT_GROUP = "mega.plugins"
_MARKER = f"[{ENTRY_POINT_GROUP}]"
FRAMEWORK_DISTRIBUTION = "mega-framework"


class InstalledPlugin:
    """One entry point in the ``mega.plugins`` group: known, not imported."""

    __slots__ = ("dist_version", "distribution", "name", "value")

    def __init__(self, name: str, value: str, distribution: str, dist_version: str) -> None:
        self.name = name
        #: the entry point's value: the plugin's module
        self.value = value
        self.distribution = distribution
        self.dist_version = dist_version

    def __repr__(self) -> str:
        return f"InstalledPlugin({self.name!r}, {self.value!r}, {self.origin!r})"

    @property
    def first_party(self) -> bool:
        return self.distribution == FRAMEWORK_DISTRIBUTION

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.dist_version}"


class LoadedPlugin:
    """An enabled plugin, imported: its module (the pluggy plugin object) and its spec."""

    __slots__ = ("installed", "module", "spec")

    def __init__(self, installed: InstalledPlugin, module: ModuleType, spec: PluginSpec) -> None:
        self.installed = installed
        self.module = module
        self.spec = spec

    def __repr__(self) -> str:
        return f"LoadedPlugin({self.name!r}, {self.installed.origin!r})"

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

        Within a process a folder is read again only when its mtime moves (a distribution
        installed or removed); an ``entry_points.txt`` rewritten in place in a folder that
        settled more than 2 s ago is seen by the next process.
        """
        entries = []
        seen: set[str] = set()
        for found, dist in _candidates():
            dist_name, version = _name_and_version(found, dist)
            # The same distribution can be reachable twice through sys.path (an editable install
            # plus a source checkout); that is one plugin, not a conflict.
            if dist_name in seen:
                continue
            seen.add(dist_name)
            for name, value in _group(found.text):
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


class _Found:
    """A distribution folder whose ``entry_points.txt`` names our group."""

    __slots__ = ("directory", "folder", "text")

    def __init__(self, directory: str, folder: str, text: str) -> None:
        self.directory = directory
        self.folder = folder
        self.text = text


#: Per ``sys.path`` folder: its mtime and what it held, so a process that builds several apps
#: (tests, the CLI building one app to list commands and another to run) lists it once.
_folders: dict[str, tuple[int, list[_Found]]] = {}

# A folder's mtime only moves when a name in it is added, removed or renamed — what installing
# or removing a distribution does (pip writes a new dist-info folder) — and some file systems
# tick it in steps of a few milliseconds: a folder changed this recently is read again, never
# cached (git's "racily clean" rule).
_SETTLED_NS = 2_000_000_000


def _candidates() -> Iterator[tuple[_Found, "md.Distribution | None"]]:
    """Every distribution whose ``entry_points.txt`` names our group, in ``sys.path`` order.

    Folders on ``sys.path`` are listed and each distribution's ``entry_points.txt`` is read as
    bytes (no ``importlib.metadata`` objects, no text decoding) and decoded only when it names
    our group: most installed distributions have no mega plugin, and bench/boot.py measures
    what each costs. A zip on ``sys.path`` goes through ``importlib.metadata``; an entry that
    does not exist (``python311.zip``, a path hook's name) holds nothing.
    """
    for entry in sys.path:
        directory = entry or "."
        try:
            st = os.stat(directory)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from ((found, None) for found in _scan_folder(directory, st.st_mtime_ns))
            continue
        import importlib.metadata as md

        for dist in md.distributions(path=[entry]):
            text = dist.read_text("entry_points.txt") or ""
            if _MARKER in text:
                yield _Found(entry, "", text), dist


def _scan_folder(directory: str, mtime_ns: int) -> list[_Found]:
    key = os.path.abspath(directory)
    cached = _folders.get(key)
    if cached is not None and cached[0] == mtime_ns:
        return cached[1]
    try:
        names = os.listdir(key)
    except OSError:
        return []
    marker = _MARKER.encode()
    found = []
    for name in names:
        if not name.endswith((".dist-info", ".egg-info")):
            continue
        path = f"{key}/{name}/entry_points.txt"
        # Two in three installed distributions have no entry points: asking costs 1.6 us, a
        # failed open 3.7 us (its exception), measured over 200 distributions laid out as
        # bench/boot.py's.
        if not os.access(path, os.R_OK):
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            data = _read_all(fd)
        finally:
            os.close(fd)
        if marker in data:
            found.append(_Found(key, name, data.decode("utf-8")))
    if time.time_ns() - mtime_ns > _SETTLED_NS:
        _folders[key] = (mtime_ns, found)
    return found


def _read_all(fd: int) -> bytes:
    chunk = os.read(fd, 65536)
    if len(chunk) < 65536:
        return chunk
    chunks = [chunk]
    while chunk:
        chunk = os.read(fd, 65536)
        chunks.append(chunk)
    return b"".join(chunks)


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


def _name_and_version(found: _Found, dist: "md.Distribution | None") -> tuple[str, str]:
    """From a ``<name>-<version>.dist-info`` folder name (as pip names them), else from the
    ``Name:``/``Version:`` headers of its METADATA or PKG-INFO (an egg-info folder), read
    without the email parser ``importlib.metadata`` uses for every field."""
    if dist is not None:
        return _canonical(dist.metadata["Name"]), dist.version
    stem = found.folder.removesuffix(".dist-info")
    if stem != found.folder and stem.count("-") == 1:
        name, version = stem.split("-")
        return _canonical(name), version
    headers = _headers(os.path.join(found.directory, found.folder))
    stem = found.folder.rpartition(".")[0]
    name = headers.get("name") or stem.partition("-")[0]
    version = headers.get("version") or stem.partition("-")[2].partition("-")[0]
    return _canonical(name), version


def _headers(folder: str) -> dict[str, str]:
    """The first ``Name`` and ``Version`` of a distribution's metadata file (RFC 822 headers,
    before the first blank line), METADATA first as ``importlib.metadata`` reads them."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, filename), encoding="utf-8") as fh:
                lines = fh.read().split("\n")
        except OSError:
            continue
        headers: dict[str, str] = {}
        for line in lines:
            if not line.strip():
                break
            key, sep, value = line.partition(":")
            key = key.lower()
            if sep and key in ("name", "version") and key not in headers:
                headers[key] = value.strip()
        return headers
    return {}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
