"""Fixtures shared by the whole suite."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class Site:
    """A directory on ``sys.path`` holding throw-away distributions (``*.dist-info`` + modules).

    Plugins made here are found by the real discovery path: ``importlib.metadata`` reads their
    ``entry_points.txt`` exactly as it reads a pip-installed distribution's.
    """

    root: Path
    modules: set[str] = field(default_factory=set)

    def dist(
        self,
        name: str,
        *,
        plugins: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        version: str = "1.0",
    ) -> Path:
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[mega.plugins]", *(f"{ep} = {target}" for ep, target in (plugins or {}).items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for rel, source in (files or {}).items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
            self.modules.add(rel.split("/")[0].removesuffix(".py"))
        return info

    def plugin(self, name: str, body: str = "", *, dist: str | None = None, **spec: str) -> str:
        """One plugin in its own distribution; ``body`` is module source before the spec.

        ``spec`` keyword arguments are PluginSpec arguments written as Python source.
        """
        module = f"{name.replace('-', '_')}_plugin"
        args = "".join(f", {k}={v}" for k, v in spec.items())
        source = (
            "from mega import PluginSpec, PluginConfig, hookimpl\n"
            + textwrap.dedent(body)
            + f"\nplugin = PluginSpec(name={name!r}{args})\n"
        )
        self.dist(dist or f"{name}-dist", plugins={name: module}, files={f"{module}.py": source})
        return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    made = Site(root)
    yield made
    for name in list(sys.modules):
        if name.split(".")[0] in made.modules:
            del sys.modules[name]
