"""The line between public and private: a plugin (first-party, contrib or an example app) uses
only what ``mega`` exports, ``mega.testing``, another plugin's top-level exports and the
documented public submodules — never a kernel module, another plugin's submodule or an
underscore name. A first-party plugin stands exactly where a third-party one does."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import mega

ROOT = Path(__file__).resolve().parents[1]
#: submodules documented as public (each one's docs name it)
PUBLIC_MODULES = {
    "mega.testing",
    "mega.testing.services",
    "mega.plugins.db.migrations",
    "mega.plugins.db.testing",
    "mega.plugins.http.testing",
    "mega.plugins.jobs.testing",
    "mega.plugins.schedule.testing",
    "mega.plugins.sqlite.testing",
    "mega.plugins.ws.testing",
}


def sources() -> list[tuple[str, Path]]:
    """(the plugin a file belongs to, the file) for every module that must use only the
    public API; an example app or contrib distribution counts as a plugin of its own."""
    found = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        found.append((path.relative_to(ROOT / "plugins").parts[0], path))
    for folder in ("contrib", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "tests" not in path.parts:
                found.append((f"{folder}/{path.relative_to(ROOT / folder).parts[0]}", path))
    return found


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute ``mega`` import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
    return [(line, mod, names) for line, mod, names in found if mod.split(".")[0] == "mega"]


def violations(owner: str, module: str, names: list[str]) -> list[str]:
    parts = module.split(".")
    if module == "mega":
        return [f"mega.{n} is not in mega.__all__" for n in names if n not in mega.__all__]
    if module in PUBLIC_MODULES:
        return [f"{module}.{n} is private" for n in names if n.startswith("_")]
    if parts[:2] != ["mega", "plugins"] or len(parts) < 3:
        return [f"{module} is a kernel module: import from mega instead"]
    plugin = parts[2]
    if plugin == owner:
        return []  # a plugin's own modules are its business
    if len(parts) > 3:
        return [f"{module} is a submodule of the {plugin!r} plugin: use its top-level exports"]
    exported = getattr(importlib.import_module(module), "__all__", [])
    return [f"{module}.{n} is not in its __all__" for n in names if n not in exported]


def test_the_scan_sees_plugins_contrib_and_examples():
    owners = {owner for owner, _path in sources()}
    assert {"http", "jobs", "metrics", "tracing", "contrib/mega-duckdb", "examples/crud"} <= owners


@pytest.mark.parametrize(
    ("owner", "path"), sources(), ids=[str(p.relative_to(ROOT)) for _o, p in sources()]
)
def test_a_plugin_imports_only_the_public_api(owner, path):
    problems = [
        f"{path.relative_to(ROOT)}:{line}: {problem}"
        for line, module, names in imports(path)
        for problem in violations(owner, module, names)
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_each_kind_of_crossing():
    assert violations("metrics", "mega.log", ["LOG_CONTEXT"])
    assert violations("tracing", "mega.plugins.http.application", ["TRACE_KEY"])
    assert violations("metrics", "mega.plugins.http", ["_private"])
    assert violations("jobs", "mega", ["LOG_CONTEXT"])
    assert not violations("jobs", "mega.plugins.jobs.queue", ["encode"])
    assert not violations("tracing", "mega.plugins.http", ["TRACE_KEY"])
