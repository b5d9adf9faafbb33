"""mega.toml, .env and MEGA__ overrides; plugin tables validated by the plugin's model."""

from __future__ import annotations

import pytest

from mega import App, MegaConfigError, MegaProblems, load_config

SETTINGS_PLUGIN = """
from pydantic import Field

class Settings(PluginConfig):
    ack_wait_ms: int = Field(default=30_000, gt=0)
    subjects: tuple[str, ...] = ()
    name: str = "jobs"
"""


def write_project(tmp_path, toml, dotenv=None):
    (tmp_path / "mega.toml").write_text(toml)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    return tmp_path


def test_mega_toml_env_file_and_environment_merge_with_the_environment_winning(tmp_path):
    root = write_project(
        tmp_path,
        """
[app]
name = "shop"
debug = false
""",
        dotenv="MEGA__APP__DEBUG=true\nMEGA__APP__NAME=from-dotenv\n",
    )
    config = load_config(root, environ={"MEGA__APP__NAME": "from-env"})
    assert config.app.debug is True
    assert config.app.name == "from-env"
    assert config.environ["MEGA__APP__DEBUG"] == "true"
    assert config.source_of(("app", "name")) == "env MEGA__APP__NAME"
    assert config.source_of(("app", "env")) == str(root / "mega.toml")


def test_a_json_environment_value_sets_a_list(tmp_path):
    root = write_project(tmp_path, "[app]\nplugins = []\n")
    config = load_config(root, environ={"MEGA__APP__PLUGINS": '["memory"]'})
    assert config.app.plugins == ("memory",)


def test_invalid_json_in_an_environment_value_names_the_variable(tmp_path):
    root = write_project(tmp_path, "[app]\n")
    with pytest.raises(MegaConfigError) as err:
        load_config(root, environ={"MEGA__APP__PLUGINS": "[memory"})
    assert err.value.code == "config.invalid_env"
    assert "MEGA__APP__PLUGINS" in err.value.message


def test_plugin_table_errors_name_key_path_value_expected_and_source(site, tmp_path):
    site.plugin("jobs-ish", SETTINGS_PLUGIN, config="Settings")
    root = write_project(
        tmp_path,
        """
[app]
plugins = ["jobs-ish"]

[plugins.jobs-ish]
ack_wait_ms = 0
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_project(root, environ={})
    assert err.value.code == "config.invalid_value"
    assert err.value.details["key"] == "plugins.jobs-ish.ack_wait_ms"
    assert err.value.details["value"] == 0
    assert "greater than 0" in err.value.message
    assert str(root / "mega.toml") in err.value.message


def test_an_environment_override_is_validated_and_blamed_on_its_variable(site, tmp_path):
    site.plugin("jobs-ish", SETTINGS_PLUGIN, config="Settings")
    root = write_project(tmp_path, '[app]\nplugins = ["jobs-ish"]\n')
    env = {"MEGA__PLUGINS__JOBS-ISH__ACK_WAIT_MS": "soon"}
    with pytest.raises(MegaConfigError) as err:
        App.from_project(root, environ=env)
    assert err.value.details["value"] == "soon"
    assert "env MEGA__PLUGINS__JOBS-ISH__ACK_WAIT_MS" in err.value.message
    app = App.from_project(root, environ={"MEGA__PLUGINS__JOBS-ISH__ACK_WAIT_MS": "5000"})
    assert app.plugin_config("jobs-ish").ack_wait_ms == 5000


def test_an_unknown_key_in_a_plugin_table_suggests_the_nearest(site):
    site.plugin("jobs-ish", SETTINGS_PLUGIN, config="Settings")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {"app": {"plugins": ["jobs-ish"]}, "plugins": {"jobs-ish": {"ack_wiat_ms": 10}}},
            environ={},
        )
    assert err.value.code == "config.unknown_key"
    assert "plugins.jobs-ish.ack_wiat_ms" in err.value.message
    assert "did you mean 'ack_wait_ms'?" in err.value.message


def test_a_plugin_without_settings_rejects_any_key(site):
    site.plugin("plain")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["plain"]}, "plugins": {"plain": {"x": 1}}}, environ={})
    assert err.value.code == "config.unknown_key"


def test_every_bad_table_is_reported_in_one_error(site):
    site.plugin("jobs-ish", SETTINGS_PLUGIN, config="Settings")
    with pytest.raises(MegaProblems) as err:
        App.from_dict(
            {
                "app": {"plugins": ["jobs-ish"]},
                "plugins": {"jobs-ish": {"ack_wait_ms": -1, "subjects": "a"}},
            },
            environ={},
        )
    assert sorted(p.details["key"] for p in err.value.problems) == [
        "plugins.jobs-ish.ack_wait_ms",
        "plugins.jobs-ish.subjects",
    ]


def test_app_settings_reject_bad_values_without_coercing_them():
    with pytest.raises(MegaConfigError) as err:
        load_config(data={"app": {"shutdown_timeout_ms": "soon"}}, environ={})
    assert err.value.details["key"] == "app.shutdown_timeout_ms"
    with pytest.raises(MegaConfigError) as err:
        load_config(data={"app": {"log_level": "loud"}}, environ={})
    assert "'debug', 'info', 'warning' or 'error'" in err.value.message


def test_the_app_version_is_its_own_else_the_project_distributions(tmp_path):
    root = write_project(tmp_path, "[app]\n")
    assert load_config(root, environ={}).app_version() is None  # never mega's version
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "4.5.6"\n')
    assert load_config(root, environ={}).app_version() == "4.5.6"
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mega-framework"\ndynamic = ["version"]\n'
    )
    from mega import __version__

    assert load_config(root, environ={}).app_version() == __version__  # the installed one
    config = load_config(root, environ={"MEGA__APP__VERSION": "2.3.1"})
    assert (config.app.version, config.app_version()) == ("2.3.1", "2.3.1")
    with pytest.raises(MegaConfigError) as err:
        load_config(data={"app": {"version": ""}}, environ={})
    assert err.value.details["key"] == "app.version"


def test_unknown_top_level_keys_are_errors():
    with pytest.raises(MegaConfigError) as err:
        load_config(data={"app": {}, "plugin": {"x": {}}}, environ={})
    assert err.value.code == "config.unknown_key"
    assert "'plugin'" in err.value.message


def test_a_table_for_a_plugin_that_is_not_installed_is_an_error():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": []}, "plugins": {"memroy": {}}}, environ={})
    assert err.value.code == "config.unknown_plugin_table"
    assert "[plugins.memroy]" in err.value.message


def test_a_table_for_an_installed_but_disabled_plugin_is_allowed():
    app = App.from_dict({"app": {"plugins": []}, "plugins": {"memory": {}}}, environ={})
    assert app.plugins == []


def test_missing_and_invalid_mega_toml_say_what_to_do(tmp_path):
    with pytest.raises(MegaConfigError) as err:
        load_config(tmp_path, environ={})
    assert err.value.code == "config.not_found"
    assert "mega new" in err.value.message
    (tmp_path / "mega.toml").write_text("[app\n")
    with pytest.raises(MegaConfigError) as err:
        load_config(tmp_path, environ={})
    assert err.value.code == "config.invalid_toml"


def test_an_override_below_a_scalar_is_rejected():
    with pytest.raises(MegaConfigError) as err:
        load_config(data={"app": {"name": "x"}}, environ={"MEGA__APP__NAME__FIRST": "y"})
    assert err.value.code == "config.invalid_env"
    assert "app.name" in err.value.message


def test_an_empty_environment_value_is_an_empty_string():
    config = load_config(data={"app": {"name": "x"}}, environ={"MEGA__APP__ENV": ""})
    assert config.app.env == ""


def test_a_profile_overlays_its_file_tables_merging_and_lists_replacing(tmp_path):
    root = write_project(
        tmp_path,
        """
[app]
name = "shop"
plugins = ["memory", "sqlite"]

[adapters.db.default]
driver = "sqlite"
path = "app.db"

[adapters.lock.default]
driver = "sqlite"
path = "locks.db"
""",
        dotenv="MEGA_PROFILE=distributed\n",
    )
    (root / "mega.distributed.toml").write_text(
        '[app]\nplugins = ["memory", "postgres"]\n\n'
        '[adapters.db.default]\ndriver = "postgres"\n\n'
        '[adapters.cache.default]\ndriver = "memory"\n\n'
        "[adapters.lock.default]\nttl_ms = 5\n"
    )
    config = load_config(root, environ={"MEGA__APP__NAME": "shop-2"})
    assert config.app.plugins == ("memory", "postgres")
    assert config.app.name == "shop-2"  # MEGA__ overrides still win over the profile
    # another driver: the table is replaced (sqlite's path means nothing to postgres)
    assert config.adapters["db"]["default"] == {"driver": "postgres"}
    assert config.adapters["cache"]["default"] == {"driver": "memory"}
    # the same driver (or none named): merged key by key
    assert config.adapters["lock"]["default"] == {
        "driver": "sqlite",
        "path": "locks.db",
        "ttl_ms": 5,
    }
    profile_file = str(root / "mega.distributed.toml")
    assert config.source_of(("adapters", "db", "default", "driver")) == profile_file
    assert config.source_of(("adapters", "cache", "default", "driver")) == profile_file
    assert config.source_of(("adapters", "db", "default")) == profile_file
    assert load_config(root, environ={"MEGA_PROFILE": ""}).app.plugins == ("memory", "sqlite")


def test_an_unknown_profile_names_the_file_and_the_profiles_there(tmp_path):
    root = write_project(tmp_path, "[app]\n")
    (root / "mega.staging.toml").write_text("[app]\n")
    for profile in ("prod", "../etc/x"):
        with pytest.raises(MegaConfigError) as err:
            load_config(root, environ={"MEGA_PROFILE": profile})
        assert err.value.code == "config.profile_not_found"
        assert f"mega.{profile}.toml" in err.value.message
        assert err.value.details["profiles"] == ["staging"]


def test_a_stray_plugin_table_names_its_file_and_the_nearest_installed_plugin(site, tmp_path):
    site.plugin("acme-audit")
    root = write_project(tmp_path, "[app]\nplugins = []\n\n[plugins.acme_audit]\nx = 1\n")
    with pytest.raises(MegaConfigError) as err:
        App.from_project(root, environ={})
    assert err.value.code == "config.unknown_plugin_table"
    toml = str(root / "mega.toml")
    assert f"[plugins.acme_audit] (from {toml})" in err.value.message
    assert "(did you mean 'acme-audit'?)" in err.value.message
    assert err.value.details["source"] == toml
    assert err.value.details["suggestions"] == ["acme-audit"]


def test_a_stray_plugin_table_set_from_the_environment_names_the_variable(site, tmp_path):
    site.plugin("acme-audit")
    root = write_project(tmp_path, "[app]\n", dotenv="MEGA__PLUGINS__ACME_AUDT__Y=2\n")
    with pytest.raises(MegaProblems) as err:
        App.from_project(root, environ={"MEGA__PLUGINS__ACME_AUDIT2__X": "1"})
    by_table = {p.details["table"]: p for p in err.value.problems}
    from_env = by_table["plugins.acme_audit2"]
    assert "(from env MEGA__PLUGINS__ACME_AUDIT2__X)" in from_env.message
    assert from_env.details["suggestions"] == ["acme-audit"]
    from_dotenv = by_table["plugins.acme_audt"]
    assert from_dotenv.details["source"] == f"{root / '.env'} MEGA__PLUGINS__ACME_AUDT__Y"
    assert "did you mean 'acme-audit'?" in from_dotenv.message


def test_a_mega_toml_table_and_the_variable_adding_to_it_are_both_named():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {"app": {"plugins": []}, "plugins": {"memroy": {"a": 1}}},
            environ={"MEGA__PLUGINS__MEMROY__B": "2"},
        )
    assert err.value.details["sources"] == ["config", "env MEGA__PLUGINS__MEMROY__B"]
    assert err.value.details["suggestions"] == ["memory"]


def test_an_underscore_variable_configures_an_enabled_hyphenated_plugin(site, tmp_path):
    site.plugin("acme-audit", SETTINGS_PLUGIN, config="Settings")
    root = write_project(
        tmp_path, '[app]\nplugins = ["acme-audit"]\n\n[plugins.acme-audit]\nname = "audit"\n'
    )
    var = "MEGA__PLUGINS__ACME_AUDIT__ACK_WAIT_MS"
    app = App.from_project(root, environ={var: "5000"})
    settings = app.plugin_config("acme-audit")
    assert (settings.ack_wait_ms, settings.name) == (5000, "audit")  # merged with the file's
    assert app.config.source_of(("plugins", "acme-audit", "ack_wait_ms")) == f"env {var}"
    with pytest.raises(MegaConfigError) as err:
        App.from_project(root, environ={var: "soon"})
    assert err.value.details["key"] == "plugins.acme-audit.ack_wait_ms"
    assert f"env {var}" in err.value.message
    # the enable list may come from the environment too
    write_project(tmp_path, "[app]\n")
    env = {"MEGA__APP__PLUGINS": '["acme-audit"]', var: "7"}
    assert App.from_project(root, environ=env).plugin_config("acme-audit").ack_wait_ms == 7


def test_an_underscore_variable_for_an_installed_but_disabled_hyphenated_plugin_is_allowed(site):
    site.plugin("acme-audit")
    app = App.from_dict({"app": {"plugins": []}}, environ={"MEGA__PLUGINS__ACME_AUDIT__X": "1"})
    assert app.plugins == []


def test_an_underscore_variable_fitting_two_enabled_plugins_is_an_error():
    data = {"app": {"plugins": ["acme-audit", "acme_audit"]}}
    with pytest.raises(MegaConfigError) as err:
        load_config(data=data, environ={"MEGA__PLUGINS__ACME_AUDIT__X": "1"})
    assert err.value.code == "config.invalid_env"
    assert "MEGA__PLUGINS__ACME_AUDIT__X" in err.value.message
    assert err.value.details["plugins"] == ["acme-audit", "acme_audit"]
    assert "MEGA__PLUGINS__ACME-AUDIT__" in err.value.message  # how to say which one
    config = load_config(data=data, environ={"MEGA__PLUGINS__ACME-AUDIT__X": "1"})
    assert config.plugins == {"acme-audit": {"x": "1"}}


def test_an_unknown_top_level_key_from_the_environment_names_the_variable():
    with pytest.raises(MegaConfigError) as err:
        load_config(data={}, environ={"MEGA__PLUGIN__HTTP__PORT": "1"})
    assert err.value.code == "config.unknown_key"
    assert "(from env MEGA__PLUGIN__HTTP__PORT)" in err.value.message
