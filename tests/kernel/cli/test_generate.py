"""``mega g``: builtin and plugin generators write code that imports and tests that pass."""

from __future__ import annotations

import re

WIDGET_PLUGIN = """
import pathlib

TEMPLATES = pathlib.Path(__file__).with_name("widget_templates")
TEMPLATES.mkdir(exist_ok=True)
(TEMPLATES / "widget.py.tpl").write_text(
    "class {{ Name }}Widget:\\n"
    "    tokens = {'name': '{{ name }}', 'camel': '{{ camelName }}', 'snake': '{{ snake }}',"
    " 'app': '{{ app }}'}\\n"
)

@hookimpl
def mega_register(registry):
    registry.generator(
        "widget", dir="widget_templates", description="A widget class",
        files=[{"path": "apps/{{ app }}/widgets/{{ snake }}.py", "template": "widget.py.tpl"}],
    )
"""


def test_service_and_app_generators_write_code_whose_tests_pass(mega, project):
    out = mega("g", "service", "user-profile", cwd=project).stdout
    assert out.splitlines() == [
        "created apps/main/services/user_profile_service.py",
        "created tests/main/test_user_profile_service.py",
    ]
    assert (
        "class UserProfileService:"
        in (project / "apps/main/services/user_profile_service.py").read_text()
    )
    mega("g", "app", "blog", cwd=project)
    mega("g", "service", "Billing", "--app", "blog", cwd=project)
    assert (project / "apps/blog/services/billing_service.py").is_file()
    tests = mega.pytest(project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout


def test_generators_refuse_to_overwrite_unless_forced(mega, project):
    mega("g", "service", "billing", cwd=project)
    target = project / "apps/main/services/billing_service.py"
    target.write_text("# edited by hand\n")
    result = mega("g", "service", "billing", cwd=project, ok=False)
    assert result.returncode == 1
    assert "error[generate.file_exists]" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "# edited by hand\n"
    dry = mega("g", "service", "billing", "--dry-run", cwd=project).stdout
    assert "would overwrite apps/main/services/billing_service.py" in dry
    forced = mega("g", "service", "billing", "--force", cwd=project).stdout
    assert "overwrote apps/main/services/billing_service.py" in forced
    assert "class BillingService" in target.read_text()


def test_adr_records_are_numbered_in_sequence(mega, project):
    mega("g", "adr", "use-postgres", cwd=project)
    mega("g", "adr", "split-workers", cwd=project)
    records = sorted(p.name for p in (project / "docs/adr").iterdir())
    assert records == ["0001-use-postgres.md", "0002-split-workers.md"]
    assert (
        (project / "docs/adr/0002-split-workers.md")
        .read_text()
        .startswith("# 0002. Split workers\n")
    )


def test_plugin_generators_render_every_token(mega, project, site, enable):
    site.plugin("widgets", WIDGET_PLUGIN)
    enable("widgets")
    mega("g", "widget", "ShoppingCart", "--app", "store", cwd=project)
    source = (project / "apps/store/widgets/shopping_cart.py").read_text()
    assert source == (
        "class ShoppingCartWidget:\n"
        "    tokens = {'name': 'shopping-cart', 'camel': 'shoppingCart', "
        "'snake': 'shopping_cart', 'app': 'store'}\n"
    )


def test_the_list_shows_builtin_and_plugin_generators_with_owners(mega, project, site, enable):
    site.plugin("widgets", WIDGET_PLUGIN)
    enable("widgets")
    out = mega("g", "--list", cwd=project).stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert re.search(r"service\s+kernel\s+A service class", rows["service"])
    assert re.search(r"widget\s+widgets\s+A widget class", rows["widget"])
    assert "enable plugin 'schedule'" in rows["schedule"]  # installed, not enabled
    assert "enable plugin 'jobs'" in rows["job"]
    assert "enable plugin 'ws'" in rows["channel"]


def _without_installed_plugin(monkeypatch, project, plugin: str):
    """Run `mega g` in-process as an installation without ``plugin`` would (a trimmed build)."""
    from typer.testing import CliRunner

    import mega.cli.generate as generate
    from mega.cli import build_cli
    from mega.cli._project import load_project_app

    def load(*args, **kwargs):
        app = load_project_app(*args, **kwargs)
        app.catalog._by_name.pop(plugin, None)
        return app

    monkeypatch.chdir(project)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(generate, "load_project_app", load)
    return lambda *args: CliRunner().invoke(build_cli(), list(args))


def test_the_list_says_when_a_builtin_generator_s_plugin_is_not_installed(monkeypatch, project):
    run = _without_installed_plugin(monkeypatch, project, "ws")
    result = run("g", "--list")
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "plugin 'ws' is not installed" in rows["channel"]


def test_a_builtin_generator_of_a_disabled_plugin_says_which_plugin(mega, project):
    result = mega("g", "schedule", "Nightly", cwd=project, ok=False)
    assert "error[generate.plugin_not_enabled]" in result.stderr
    assert "add 'schedule' to [app].plugins" in result.stderr


def test_a_builtin_generator_of_a_plugin_not_installed_does_not_advise_enabling_it(
    monkeypatch, project
):
    run = _without_installed_plugin(monkeypatch, project, "ws")
    result = run("g", "channel", "Chat")
    assert result.exit_code == 1
    assert "error[generate.plugin_not_available]" in result.stderr
    assert "'ws'" in result.stderr and "upgrade mega-framework" in result.stderr


def test_an_unknown_generator_or_bad_name_is_a_clear_error(mega, project):
    result = mega("g", "servce", "x", cwd=project, ok=False)
    assert (
        "error[generator.unknown]: generator 'servce' is not known (did you mean 'service'?)"
        in result.stderr
    )
    result = mega("g", "service", "user profile", cwd=project, ok=False)
    assert "error[generate.invalid_name]" in result.stderr
    result = mega("g", "service", cwd=project, ok=False)
    assert "error[generate.missing_name]" in result.stderr


def test_generate_outside_a_project_says_how_to_make_one(mega):
    result = mega("g", "service", "x", ok=False)
    assert "error[config.not_found]" in result.stderr and "mega new" in result.stderr


def test_the_adapter_generator_makes_a_plugin_that_pip_installs_and_boots(
    mega, project, tmp_path, enable, pip_install_into
):
    mega("g", "adapter", "acme-cache", cwd=project)
    plugin_dir = project / "plugins/acme-cache"
    tests = mega.pytest(plugin_dir)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    target = pip_install_into(tmp_path / "installed", plugin_dir)
    mega.pythonpath.append(str(target))
    enable("acme-cache", extra='\n[adapters.cache.acme]\ndriver = "acme-cache"\nprefix = "p:"\n')
    assert "no problems" in mega("plugins", "check", cwd=project).stdout
    assert (
        "booted with plugins memory, http, acme-cache" in mega("run", "--once", cwd=project).stderr
    )
