"""Registries: reserved builtin names, duplicates naming both owners, generator validation."""

from __future__ import annotations

import pytest

from mega import App, MegaConfigError
from mega.registry import BUILTIN_GENERATORS, NameRegistry, Owner, Registry

THIRD_PARTY = Owner("acme", "acme-mega", "1.2")
FIRST_PARTY = Owner("jobs", "mega-framework", "0.1.0")


def config(*plugins):
    return {"app": {"plugins": list(plugins)}}


def test_all_fourteen_builtin_generator_names_are_reserved():
    assert sorted(BUILTIN_GENERATORS) == sorted(
        [
            "app",
            "controller",
            "channel",
            "service",
            "model",
            "middleware",
            "route",
            "schedule",
            "job",
            "worker",
            "locale",
            "adapter",
            "migration",
            "adr",
        ]
    )
    assert Registry().generators.reserved == frozenset(BUILTIN_GENERATORS)


def test_third_party_plugin_registering_a_builtin_generator_fails_at_registration(site):
    site.plugin(
        "acme",
        """
@hookimpl
def mega_register(registry):
    registry.generator("job", dir=".", files=[{"path": "x.py", "template": "x.tpl"}])
""",
        dist="acme-mega",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("acme"), environ={})
    assert err.value.code == "plugin.builtin_generator_conflict"
    assert err.value.message == (
        "generator name 'job' is reserved for mega's builtin generator; plugin 'acme' "
        "(acme-mega 1.0) must pick another name"
    )


def test_a_first_party_plugin_may_register_a_reserved_name():
    registry: NameRegistry[str] = NameRegistry("generator", "generator", frozenset({"job"}))
    registry.add("job", "definition", FIRST_PARTY)
    assert registry.get("job") == "definition"
    assert registry.owner_of("job") == FIRST_PARTY


@pytest.mark.parametrize(
    ("kind", "call"),
    [
        (
            "generator",
            'registry.generator("widget", dir=".", files=[{"path": "w.py", "template": "w.tpl"}])',
        ),
        ("dialect", 'registry.dialect("duckish", object())'),
        ("cache driver", 'registry.adapter_driver("cache", "fastcache", dict)'),
        ("command", 'registry.command("hello", lambda: None)'),
    ],
    ids=["generator", "dialect", "driver", "command"],
)
def test_a_second_registration_fails_naming_both_owners(site, kind, call):
    body = f"""
import pathlib
pathlib.Path(__file__).with_name("w.tpl").write_text("x")

@hookimpl
def mega_register(registry):
    {call}
"""
    site.plugin("one", body)
    site.plugin("two", body)
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("one", "two"), environ={})
    assert err.value.code.startswith("plugin.duplicate_")
    assert f"{kind} " in err.value.message
    assert err.value.details["owners"] == [
        "plugin 'one' (one-dist 1.0)",
        "plugin 'two' (two-dist 1.0)",
    ]


@pytest.mark.parametrize(
    ("kind", "name", "code"),
    [
        ("dialect", "postgres", "plugin.builtin_dialect_conflict"),
        ("driver", "redis", "plugin.builtin_driver_conflict"),
        ("command", "run", "plugin.builtin_command_conflict"),
    ],
)
def test_reserved_names_of_every_registry_are_refused_to_third_parties(kind, name, code):
    registry = Registry()
    view = registry.for_plugin(THIRD_PARTY, base_dir=__import__("pathlib").Path("."))
    register = {
        "dialect": lambda: view.dialect(name, object()),
        "driver": lambda: view.adapter_driver("cache", name, dict),
        "command": lambda: view.command(name, lambda: None),
    }[kind]
    with pytest.raises(MegaConfigError) as err:
        register()
    assert err.value.code == code
    assert "plugin 'acme' (acme-mega 1.2) must pick another name" in err.value.message


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"dir": "", "files": [{"path": "a", "template": "t.tpl"}]}, "`dir` must be a non-empty"),
        ({"dir": "tpl", "files": []}, "`files` must be a non-empty list"),
        ({"dir": "tpl", "files": [{"path": "a"}]}, "each `files` entry must be"),
        (
            {"dir": "tpl", "files": [{"path": "", "template": "t.tpl"}]},
            "each `files` entry must be",
        ),
        ({"dir": "tpl", "files": [{"path": "a", "template": 3}]}, "each `files` entry must be"),
        ({"dir": "tpl", "files": [{"path": "a", "template": "missing.tpl"}]}, "is missing from"),
        ({"dir": "nowhere", "files": [{"path": "a", "template": "t.tpl"}]}, "is not a directory"),
        (
            {"dir": "tpl", "files": [{"path": "a", "template": "t.tpl"}], "description": 7},
            "`description` must be a string",
        ),
    ],
    ids=[
        "empty-dir",
        "no-files",
        "no-template-key",
        "empty-path",
        "template-not-str",
        "missing-template",
        "dir-missing",
        "description-not-str",
    ],
)
def test_generator_definitions_are_validated_at_registration(tmp_path, kwargs, rule):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "t.tpl").write_text("x")
    view = Registry().for_plugin(THIRD_PARTY, base_dir=tmp_path)
    with pytest.raises(MegaConfigError) as err:
        view.generator("widget", **kwargs)
    assert err.value.code == "plugin.invalid_generator"
    assert rule in err.value.message
    assert "plugin 'acme' (acme-mega 1.2)" in err.value.message


def test_what_each_plugin_registered_is_recorded(site):
    site.plugin(
        "multi",
        """
@hookimpl
def mega_register(registry):
    registry.dialect("duckish", object())
    registry.adapter_driver("bus", "pigeon", dict)
    registry.command("coo", lambda: None)
""",
    )
    app = App.from_dict(config("multi"), environ={})
    assert "service" in app.registry.generators  # the kernel's own appear on first look
    assert app.registry.by_plugin["multi"] == [
        "dialect duckish",
        "bus driver pigeon",
        "command coo",
    ]
    assert app.registry.by_plugin["kernel"] == [
        "generator app",
        "generator service",
        "generator adapter",
        "generator adr",
    ]


def test_an_undeclared_adapter_kind_in_config_lists_the_declared_kinds(site):
    site.plugin(
        "queue-driver",
        """
@hookimpl
def mega_register(registry):
    registry.adapter_driver("queue", "x", dict)  # a kind no enabled plugin declares
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {"app": {"plugins": ["queue-driver"]}, "adapters": {"queue": {"q": {"driver": "x"}}}},
            environ={},
        )
    assert err.value.code == "adapter.unknown_kind"
    assert "bus, cache, db, lock, log-sink, session" in err.value.message


def test_a_first_party_kind_whose_plugin_is_off_names_the_plugin():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {"app": {"plugins": []}, "adapters": {"presence": {"default": {"driver": "local"}}}},
            environ={},
        )
    assert err.value.code == "adapter.unknown_kind"
    assert "add 'ws' to [app].plugins" in err.value.message


def test_a_plugin_declares_an_adapter_kind_whose_contract_is_checked_at_build(site):
    site.plugin(
        "mailer",
        """
from typing import Protocol

class Mailer(Protocol):
    async def send(self, to: str, body: str) -> None: ...

class Good:
    def __init__(self, *, alias, options): ...
    async def connect(self): ...
    async def close(self): ...
    async def send(self, to, body): ...

class Lacking:
    def __init__(self, *, alias, options): ...
    async def connect(self): ...
    async def close(self): ...

@hookimpl
def mega_register(registry):
    registry.adapter_kind("mail", protocol=Mailer, description="outgoing mail")
    registry.adapter_driver("mail", "good", Good)
    registry.adapter_driver("mail", "lacking", Lacking)
""",
    )
    app = App.from_dict(
        {"app": {"plugins": ["mailer"]}, "adapters": {"mail": {"default": {"driver": "good"}}}},
        environ={},
    )
    assert app.registry.adapter_kinds["mail"].description == "outgoing mail"
    assert type(app.ctx().adapter("mail")).__name__ == "Good"
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {"app": {"plugins": ["mailer"]}, "adapters": {"mail": {"x": {"driver": "lacking"}}}},
            environ={},
        )
    assert err.value.code == "adapter.contract"
    assert "missing send" in err.value.message and "[adapters.mail.x]" in err.value.message


def test_a_kind_is_declared_once(site):
    site.plugin(
        "second-cache",
        """
@hookimpl
def mega_register(registry):
    registry.adapter_kind("cache")
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["second-cache"]}}, environ={})
    assert err.value.code == "plugin.duplicate_adapter_kind"
    assert "first by plugin 'kernel'" in err.value.message


def test_an_exception_in_mega_register_names_the_plugin(site):
    site.plugin(
        "crashy",
        """
@hookimpl
def mega_register(registry):
    raise KeyError("oops")
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("crashy"), environ={})
    assert err.value.code == "plugin.register_failed"
    assert (
        "plugin 'crashy' (crashy-dist 1.0) raised in mega_register: KeyError" in err.value.message
    )
