"""Packaging: kernel/ → mega, plugins/ → mega.plugins, scaffolds/ → mega.scaffolds; wheels too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = {"mega": "kernel", "mega.plugins": "plugins", "mega.scaffolds": "scaffolds"}


def declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return project["tool"]["setuptools"]["packages"], project


def test_every_package_directory_is_declared_in_pyproject():
    packages, project = declared()
    assert project["tool"]["setuptools"]["package-dir"] == LAYOUT
    found = set()
    for package, folder in LAYOUT.items():
        for directory in [ROOT / folder, *(p for p in (ROOT / folder).rglob("*") if p.is_dir())]:
            if directory.name == "__pycache__":
                continue
            has_code = (directory / "__init__.py").exists() or any(directory.glob("*.tpl"))
            if has_code:
                rel = directory.relative_to(ROOT / folder).parts
                found.add(".".join((package, *rel)))
    assert sorted(found) == sorted(packages)


def test_first_party_plugins_are_registered_as_entry_points():
    _, project = declared()
    plugins = project["project"]["entry-points"]["mega.plugins"]
    on_disk = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
    assert sorted(plugins) == on_disk
    assert all(target == f"mega.plugins.{name}" for name, target in plugins.items())


@pytest.mark.timeout(300)
def test_a_built_wheel_imports_discovers_plugins_and_boots(tmp_path, pip_install_into):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("mega_framework-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mega/py.typed" in names
    assert "mega/plugins/memory/__init__.py" in names
    assert "mega/scaffolds/project/mega.toml.tpl" in names
    target = pip_install_into(tmp_path / "site", wheel)
    # -S: no site processing, so the editable install's import hook is not active; the wheel's
    # copy comes first on sys.path and the venv's libraries after it.
    libs = [p for p in sys.path if p.endswith("site-packages")]
    probe = """
import asyncio, json, mega
from mega.discovery import Catalog
from mega.testing import boot_app

async def main():
    async with boot_app({"app": {"plugins": ["memory"]},
                         "adapters": {"cache": {"default": {"driver": "memory"}}}}) as app:
        await app.ctx().cache().set("k", "v")
        return await app.ctx().cache().get("k")

memory = [e for e in Catalog.scan().entries() if e.name == "memory"][0]
print(json.dumps({"file": mega.__file__, "dist": memory.distribution,
                  "value": asyncio.run(main())}))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *libs])}
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(str(target))
    assert result == {**result, "dist": "mega-framework", "value": "v"}
