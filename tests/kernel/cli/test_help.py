"""``mega --help`` and ``--version`` stay fast: no plugin, no heavy library is imported."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("mega.plugins", "pydantic", "pluggy", "structlog", "jinja2", "mega.app")

PROBE = f"""
import json, sys
from mega.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))
"""


def imported_by(mega, *args, cwd=None):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd or mega.cwd,
        env=mega.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout


def test_help_imports_no_plugin_even_inside_a_project(mega, project):
    imported, out = imported_by(mega, "--help", cwd=project)
    assert imported == []
    for command in ("new", "g", "run", "plugins"):
        assert command in out


def test_version_prints_the_version_without_imports(mega):
    imported, out = imported_by(mega, "--version")
    assert imported == []
    from mega import __version__

    assert f"mega {__version__}" in out


def test_an_unknown_command_outside_a_project_says_plugin_commands_need_one(mega):
    result = mega("frobnicate", ok=False)
    assert result.returncode == 1
    assert "error[cli.unknown_command]: no such command 'frobnicate'" in result.stderr
    assert "mega.toml" in result.stderr
    assert "Traceback" not in result.stderr
