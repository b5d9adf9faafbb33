"""Plugins are ordered by requires/provides; ties keep config order."""

from __future__ import annotations

import pytest

from mega import App, MegaConfigError, MegaProblems, PluginSpec
from mega.ordering import order_plugins


def names(specs):
    return [s.name for s in specs]


def test_without_requirements_the_config_order_is_kept():
    specs = [PluginSpec(name=n) for n in ("c", "a", "b")]
    ordered, problems = order_plugins(specs)
    assert names(ordered) == ["c", "a", "b"] and problems == []


def test_a_plugin_comes_after_every_provider_of_what_it_requires():
    specs = [
        PluginSpec(name="web", requires=("db", "cache")),
        PluginSpec(name="pg", provides=("db",)),
        PluginSpec(name="extra"),
        PluginSpec(name="mem", provides=("cache",)),
        PluginSpec(name="sqlite", provides=("db",)),
    ]
    ordered, problems = order_plugins(specs)
    assert problems == []
    assert names(ordered) == ["pg", "extra", "mem", "sqlite", "web"]


def test_requiring_a_plugin_by_name_works_like_a_capability():
    ordered, _ = order_plugins([PluginSpec(name="b", requires=("a",)), PluginSpec(name="a")])
    assert names(ordered) == ["a", "b"]


def test_a_missing_requirement_names_plugin_and_capability():
    ordered, [problem] = order_plugins(
        [PluginSpec(name="jobs", requires=("bus",)), PluginSpec(name="other")]
    )
    assert problem.code == "plugin.missing_requirement"
    assert problem.details == {"plugin": "jobs", "requires": "bus"}
    assert "plugin 'jobs' requires 'bus', which no enabled plugin provides" in problem.message
    assert names(ordered) == ["other"]


def test_a_requirement_cycle_is_printed():
    specs = [
        PluginSpec(name="a", requires=("b",)),
        PluginSpec(name="b", requires=("c",)),
        PluginSpec(name="c", requires=("a",)),
        PluginSpec(name="free"),
    ]
    ordered, [problem] = order_plugins(specs)
    assert problem.code == "plugin.requirement_cycle"
    assert problem.details["cycle"] == ["a", "b", "c", "a"]
    assert "a -> b -> c -> a" in problem.message
    assert names(ordered) == ["free"]


def test_plugins_waiting_on_a_broken_one_are_not_reported_twice():
    specs = [
        PluginSpec(name="top", requires=("mid",)),
        PluginSpec(name="mid", requires=("nothing",)),
    ]
    ordered, problems = order_plugins(specs)
    assert [p.code for p in problems] == ["plugin.missing_requirement"]
    assert ordered == []


def test_boot_fails_on_a_cycle_between_installed_plugins(site):
    site.plugin("ping", requires="('pong',)")
    site.plugin("pong", requires="('ping',)")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["ping", "pong"]}}, environ={})
    assert err.value.code == "plugin.requirement_cycle"
    assert not isinstance(err.value, MegaProblems)
