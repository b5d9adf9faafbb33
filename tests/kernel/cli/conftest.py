"""Running the real ``mega`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Mega:
    cwd: Path
    pythonpath: list[str]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
        env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
        env["NO_COLOR"] = "1"
        env["COLUMNS"] = "200"
        return env

    def __call__(
        self, *args: str, cwd: Path | None = None, ok: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mega", *args],
            cwd=cwd or self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if ok and result.returncode != 0:
            raise AssertionError(
                f"mega {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def pytest(self, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def mega(tmp_path: Path, site) -> Mega:
    work = tmp_path / "work"
    work.mkdir()
    return Mega(work, [str(site.root)])


@pytest.fixture
def project(mega: Mega) -> Path:
    mega("new", "shop")
    return mega.cwd / "shop"


@pytest.fixture
def enable(project: Path):
    """``enable("a", "b", extra="toml")``: enable plugins (after memory) in the project."""

    def enable(*plugins: str, extra: str = "") -> None:
        toml = project / "mega.toml"
        names = ", ".join(f'"{p}"' for p in ("memory", *plugins))
        text = toml.read_text().replace('plugins = ["memory"]', f"plugins = [{names}]")
        toml.write_text(text + extra)

    return enable
