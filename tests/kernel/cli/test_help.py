"""``mega --help`` and ``--version`` stay fast: outside a project no plugin, no heavy library is
imported; inside one, help builds (never boots) the app to list its plugins' commands."""

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


HELLO = """
import typer

tools = typer.Typer(help="Acme tools")

@tools.command("ping")
def ping():
    print("pong")

def hello():
    print("hello")

@hookimpl
def mega_register(registry):
    registry.command("hello", hello, help="Say hello")
    registry.command("acme", tools, help="Acme tools")
"""


def test_help_outside_a_project_imports_no_plugin(mega):
    imported, out = imported_by(mega, "--help")
    assert imported == []
    for command in ("new", "g", "run", "plugins"):
        assert command in out
    assert "Commands of enabled plugins" not in out


def test_help_inside_a_project_lists_the_commands_of_enabled_plugins(mega, project, site, enable):
    site.plugin("hello", HELLO)
    site.plugin("idle", "raise RuntimeError('must not be imported')\n")
    enable("hello")
    result = mega("--help", cwd=project)
    panel = result.stdout.split("Commands of enabled plugins", 1)[1]
    assert "hello" in panel and "Say hello" in panel
    assert "acme" in panel and "Acme tools" in panel
    assert "serve" in panel  # the project's http plugin
    for command in ("new", "g", "run", "plugins"):
        assert command in result.stdout
    assert "could not be loaded" not in result.stderr


def test_help_with_a_broken_project_prints_the_builtin_help_and_one_line_why(mega, project, enable):
    enable("ghost")
    result = mega("--help", cwd=project)
    for command in ("new", "g", "run", "plugins"):
        assert command in result.stdout
    assert "Commands of enabled plugins" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "The project's plugin commands could not be loaded: error[plugin.unknown]: plugin 'ghost'"
    )


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
