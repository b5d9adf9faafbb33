"""``mega plugins`` lists installed and enabled plugins; ``mega plugins check`` finds problems."""

from __future__ import annotations

import json

HELLO = """
import typer

tools = typer.Typer(help="Acme tools")

@tools.command("ping")
def ping():
    print("pong")

def hello(who: str = typer.Option("world", help="Who to greet")):
    \"\"\"Say hello.\"\"\"
    print(f"hello {who}")

@hookimpl
def mega_register(registry):
    registry.command("hello", hello, help="Say hello")
    registry.command("acme", tools)
"""


def test_plugins_json_shows_enabled_plugins_and_what_they_registered(mega, project, site, enable):
    site.plugin("hello", HELLO, description='"greetings"', provides="('greeting',)")
    site.plugin("idle", "raise RuntimeError('must not be imported')\n")
    enable("hello")
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    rows = {row["name"]: row for row in listing["plugins"]}
    assert rows["hello"] == {
        "name": "hello",
        "version": "1.0",
        "distribution": "hello-dist",
        "enabled": True,
        "description": "greetings",
        "provides": ["greeting"],
        "requires": [],
        "registered": ["command hello", "command acme"],
        "hooks": ["mega_register"],
    }
    assert rows["memory"]["registered"] == ["cache driver memory", "session driver memory"]
    assert rows["idle"]["enabled"] is False and rows["idle"]["provides"] is None
    assert listing["problems"] == []


def test_plugins_table_lists_installed_plugins(mega, project):
    out = mega("plugins", cwd=project).stdout
    assert "memory" in out and "mega-framework" in out
    assert "1 cache driver, 1 session driver" in out  # names are in --json
    assert "4 generators, 2 commands" in out


def test_plugins_check_reports_every_problem_at_once(mega, project, site, enable):
    site.plugin("twin", dist="acme-twin")
    site.dist(
        "other-twin",
        plugins={"twin": "other_twin"},
        files={"other_twin.py": "from mega import PluginSpec\nplugin = PluginSpec(name='twin')\n"},
    )
    site.plugin("needy", requires="('queue',)")
    enable("needy", "ghost", extra='\n[adapters.cache.default2]\ndriver = "memory"\nbad = 1\n')
    result = mega("plugins", "check", cwd=project, ok=False)
    assert result.returncode == 1
    err = result.stderr
    assert "error[plugin.duplicate_name]: plugin name 'twin'" in err
    assert "error[plugin.unknown]: plugin 'ghost' is not known" in err
    assert "error[plugin.missing_requirement]: plugin 'needy' requires 'queue'" in err
    assert "error[config.unknown_key]: config key adapters.cache.default2.bad" in err
    assert "4 problem(s) found" in err


def test_plugins_check_passes_on_a_healthy_project(mega, project):
    out = mega("plugins", "check", cwd=project).stdout
    assert out.startswith(f"ok: project {project}")
    assert "2 enabled, no problems" in out


def test_plugin_commands_run_as_mega_subcommands(mega, project, site, enable):
    site.plugin("hello", HELLO)
    enable("hello")
    assert mega("hello", "--who", "mega", cwd=project).stdout == "hello mega\n"
    assert mega("acme", "ping", cwd=project).stdout == "pong\n"
    result = mega("helo", cwd=project, ok=False)
    assert "error[cli.unknown_command]: no such command 'helo'" in result.stderr
    assert "hello" in result.stderr
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_a_plugin_may_not_take_a_builtin_command_name(mega, project, site, enable):
    site.plugin(
        "rogue",
        """
@hookimpl
def mega_register(registry):
    registry.command("run", lambda: None)
""",
    )
    enable("rogue")
    result = mega("plugins", "check", cwd=project, ok=False)
    assert "error[plugin.builtin_command_conflict]: command name 'run' is reserved" in result.stderr


def test_plugins_json_lists_the_active_hooks_of_each_plugin(mega, project, site, enable):
    site.plugin(
        "watcher",
        """
@hookimpl
def mega_http_observer(app):
    return None

@hookimpl
def mega_ws_listeners(app):  # ws is not enabled: dormant, not listed
    return None
""",
    )
    enable("http", "watcher")
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    hooks = {p["name"]: p["hooks"] for p in listing["plugins"]}
    assert hooks["watcher"] == ["mega_http_observer"]
    assert "mega_register" in hooks["http"]
