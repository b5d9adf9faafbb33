"""The generators the kernel itself owns: ``app``, ``service``, ``adapter``, ``adr``.

The other builtin generator names (``job``, ``model``, …) are reserved in the registry and
registered by the first-party plugin that owns each kind.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import PluginRegistry


def scaffolds_dir() -> Path:
    """Where the package's templates live (``mega.scaffolds``)."""
    from importlib.resources import files

    return Path(str(files("mega.scaffolds")))


def _next_adr(root: Path, tokens: dict[str, str]) -> dict[str, str]:
    taken = [
        int(m.group(1))
        for p in (root / "docs" / "adr").glob("*.md")
        if (m := re.match(r"(\d{4})-", p.name))
    ]
    return {
        "number": f"{max(taken, default=0) + 1:04d}",
        "date": dt.date.today().isoformat(),
        "title": tokens["name"].replace("-", " ").capitalize(),
    }


def register_kernel_generators(registry: PluginRegistry) -> None:
    base = scaffolds_dir()
    registry.generator(
        "app",
        dir=base / "app",
        description="A new app package under apps/, with a smoke test",
        files=[
            {"path": "apps/{{ snake }}/__init__.py", "template": "init.py.tpl"},
            {"path": "apps/{{ snake }}/services/__init__.py", "template": "services_init.py.tpl"},
            {"path": "tests/{{ snake }}/test_{{ snake }}_app.py", "template": "test_app.py.tpl"},
        ],
    )
    registry.generator(
        "service",
        dir=base / "service",
        description="A service class taking ctx, in apps/<app>/services/, with a test",
        files=[
            {
                "path": "apps/{{ app }}/services/{{ snake }}_service.py",
                "template": "service.py.tpl",
            },
            {
                "path": "tests/{{ app }}/test_{{ snake }}_service.py",
                "template": "test_service.py.tpl",
            },
        ],
    )
    registry.generator(
        "adapter",
        dir=base / "adapter",
        description="A skeleton adapter driver plugin (its own distribution) in plugins/<name>/",
        files=[
            {"path": "plugins/{{ name }}/pyproject.toml", "template": "pyproject.toml.tpl"},
            {"path": "plugins/{{ name }}/README.md", "template": "README.md.tpl"},
            {
                "path": "plugins/{{ name }}/mega_{{ snake }}/__init__.py",
                "template": "plugin.py.tpl",
            },
            {
                "path": "plugins/{{ name }}/tests/test_{{ snake }}_adapter.py",
                "template": "test_adapter.py.tpl",
            },
        ],
    )
    registry.generator(
        "adr",
        dir=base / "adr",
        description="An architecture decision record in docs/adr/NNNN-<slug>.md",
        files=[{"path": "docs/adr/{{ number }}-{{ name }}.md", "template": "adr.md.tpl"}],
        extra_tokens=_next_adr,
    )
