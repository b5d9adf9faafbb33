"""Meta-tests: every extension point, config key, generator and error code has docs and tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mega
from mega import hookspecs
from mega.adapters import ADAPTER_KINDS
from mega.config import AppSettings
from mega.registry import BUILTIN_GENERATORS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIRST_PARTY = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())


def declared_hooks() -> list[str]:
    """The kernel's hooks and every hook a first-party plugin declares."""
    import importlib

    found = [n for n in dir(hookspecs) if n.startswith("mega_")]
    for name in FIRST_PARTY:
        spec = importlib.import_module(f"mega.plugins.{name}").plugin
        if spec.hooks is not None:
            found += [n for n in dir(spec.hooks) if n.startswith(f"mega_{name}_")]
    return sorted(found)


HOOKS = declared_hooks()
CODE = re.compile(r'(?:Error|fail)\(\s*f?"([a-z_]+\.[a-z_]+)"|code="([a-z_]+\.[a-z_]+)"')


def suite_source() -> str:
    return "\n".join(
        p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_meta.py"
    )


def test_plugins_declare_hooks():
    assert {"mega_http_observer", "mega_jobs_listeners", "mega_db_wrap_query"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_documented_and_tested(hook):
    assert f"`{hook}`" in (DOCS / "plugins.md").read_text()
    assert hook in suite_source()


@pytest.mark.parametrize("key", sorted(AppSettings.model_fields))
def test_every_app_setting_is_documented(key):
    assert f"| `{key}` |" in (DOCS / "config.md").read_text()


@pytest.mark.parametrize("kind", ADAPTER_KINDS)
def test_every_adapter_kind_is_documented(kind):
    assert f"| `{kind}` |" in (DOCS / "config.md").read_text()


@pytest.mark.parametrize("generator", sorted(BUILTIN_GENERATORS))
def test_every_builtin_generator_is_documented(generator):
    assert f"`{generator}`" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("plugin", FIRST_PARTY)
def test_every_first_party_plugin_has_docs_and_tests(plugin):
    assert (DOCS / "plugins" / f"{plugin}.md").is_file()
    assert list((ROOT / "tests" / "plugins" / plugin).glob("test_*.py"))


def raised_codes() -> set[str]:
    codes = set()
    for folder in ("kernel", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in CODE.finditer(path.read_text()):
                codes.add(match.group(1) or match.group(2))
    return codes


def test_the_code_scan_finds_codes():
    assert {"plugin.unknown", "config.invalid_value", "lifecycle.hook_failed"} <= raised_codes()


@pytest.mark.parametrize("code", sorted(raised_codes()))
def test_every_error_code_is_documented(code):
    assert f"`{code}`" in (DOCS / "errors.md").read_text()


def test_the_public_api_resolves_and_is_documented():
    for name in mega.__all__:
        value = getattr(mega, name)
        if name != "__version__":
            assert value.__doc__, f"mega.{name} has no docstring"
    assert sorted(mega.__all__) == sorted(["__version__", *mega._EXPORTS])


def first_party_registrations() -> dict[str, set[str]]:
    """What mega's own plugins register, by registry (``generator``, ``db driver``…)."""
    import importlib

    from mega.registry import KERNEL_OWNER, Owner, Registry

    registry = Registry()
    found: dict[str, set[str]] = {}
    for name in FIRST_PARTY:
        module = importlib.import_module(f"mega.plugins.{name}")
        register = getattr(module, "mega_register", None)
        if register is None:
            continue
        owner = Owner(name, KERNEL_OWNER.distribution, KERNEL_OWNER.version)
        register(registry=registry.for_plugin(owner, Path(module.__file__).parent))
    for line in (r for names in registry.by_plugin.values() for r in names):
        kind, _, registered = line.rpartition(" ")
        found.setdefault(kind, set()).add(registered)
    return found


def test_reserved_names_are_the_names_first_party_plugins_register():
    from mega.cli import KERNEL_COMMANDS
    from mega.registry import BUILTIN_COMMANDS, BUILTIN_DIALECTS, BUILTIN_DRIVERS

    registered = first_party_registrations()
    assert set(BUILTIN_GENERATORS) == registered["generator"]  # the seed's 14, every one real
    assert len(BUILTIN_GENERATORS) == 14
    assert registered["dialect"] == BUILTIN_DIALECTS
    assert registered["command"] | KERNEL_COMMANDS == BUILTIN_COMMANDS
    for kind, names in BUILTIN_DRIVERS.items():
        assert registered[f"{kind} driver"] == names, kind
