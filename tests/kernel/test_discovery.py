"""Discovery through the ``mega.plugins`` entry point group, with real ``*.dist-info`` dirs."""

from __future__ import annotations

import os
import sys
import time
import zipfile

import pytest

from mega import App, MegaConfigError, MegaProblems
from mega.discovery import Catalog


def boot_config(*plugins: str) -> dict:
    return {"app": {"plugins": list(plugins)}}


def test_enabled_plugin_is_found_through_its_entry_point(site):
    site.plugin("greeter", description="'says hi'")
    app = App.from_dict(boot_config("greeter"), environ={})
    [plugin] = app.plugins
    assert plugin.name == "greeter"
    assert plugin.installed.distribution == "greeter-dist"
    assert plugin.version == "1.0"
    assert plugin.spec.description == "says hi"


def test_installed_but_unlisted_plugins_are_never_imported(site):
    site.plugin("quiet")
    site.plugin("loud", "raise RuntimeError('imported!')\n")
    App.from_dict(boot_config("quiet"), environ={})
    assert "quiet_plugin" in sys.modules
    assert "loud_plugin" not in sys.modules


def test_unknown_plugin_lists_installed_and_suggests_the_nearest(site):
    site.plugin("greeter")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("greter"), environ={})
    assert err.value.code == "plugin.unknown"
    assert "did you mean 'greeter'?" in err.value.message
    assert "greeter" in err.value.details["known"]
    assert "memory" in err.value.details["known"]


def test_duplicate_plugin_names_fail_naming_both_distributions(site):
    site.plugin("twin", dist="acme-twin")
    site.dist(
        "other-twin",
        plugins={"twin": "other_twin_mod"},
        files={
            "other_twin_mod.py": "from mega import PluginSpec\nplugin = PluginSpec(name='twin')\n"
        },
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("twin"), environ={})
    assert err.value.code == "plugin.duplicate_name"
    assert "acme-twin 1.0" in err.value.message and "other-twin 1.0" in err.value.message
    assert sorted(err.value.details["distributions"]) == ["acme-twin", "other-twin"]


def test_import_failure_names_plugin_distribution_and_cause(site):
    site.plugin("broken", "import not_a_real_module_xyz\n", dist="broken-dist")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("broken"), environ={})
    assert err.value.code == "plugin.import_failed"
    assert "'broken'" in err.value.message and "broken-dist 1.0" in err.value.message
    assert "not_a_real_module_xyz" in err.value.message
    assert isinstance(err.value.__cause__, ModuleNotFoundError)


def test_spec_name_must_equal_entry_point_name(site):
    site.dist(
        "misnamed",
        plugins={"alpha": "misnamed_mod"},
        files={
            "misnamed_mod.py": "from mega import PluginSpec\nplugin = PluginSpec(name='beta')\n"
        },
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("alpha"), environ={})
    assert err.value.code == "plugin.name_mismatch"
    assert err.value.details == {
        "entry_point": "alpha",
        "spec_name": "beta",
        "distribution": "misnamed",
    }


def test_module_without_a_plugin_spec_is_rejected(site):
    site.dist("nospec", plugins={"nospec": "nospec_mod"}, files={"nospec_mod.py": "x = 1\n"})
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("nospec"), environ={})
    assert err.value.code == "plugin.missing_spec"
    assert "plugin = mega.PluginSpec(name='nospec'" in err.value.message


def test_plugin_listed_twice_is_an_error(site):
    site.plugin("greeter")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(boot_config("greeter", "greeter"), environ={})
    assert err.value.code == "config.duplicate_plugin"


def test_several_problems_in_one_phase_are_reported_together(site):
    with pytest.raises(MegaProblems) as err:
        App.from_dict(boot_config("nope1", "nope2"), environ={})
    assert [p.code for p in err.value.problems] == ["plugin.unknown", "plugin.unknown"]
    assert "2 problems" in err.value.message


def test_catalog_lists_first_party_plugins_from_the_framework_distribution():
    catalog = Catalog.scan()
    [memory] = [e for e in catalog.entries() if e.name == "memory"]
    assert memory.distribution == "mega-framework"
    assert memory.first_party


def test_invalid_plugin_names_are_rejected_by_the_spec():
    from mega import PluginSpec

    with pytest.raises(MegaConfigError) as err:
        PluginSpec(name="Bad Name")
    assert err.value.code == "plugin.invalid_name"
    with pytest.raises(MegaConfigError) as err:
        PluginSpec(name="ok", requires="db")  # a bare string, not a tuple
    assert err.value.code == "plugin.invalid_spec"


def test_the_fast_scan_finds_what_importlib_metadata_finds(site):
    import importlib.metadata as md

    site.plugin("alpha")
    egg = site.root / "legacy_pkg.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 0.9\n")
    (egg / "entry_points.txt").write_text(
        "# a comment\n[console_scripts]\nlegacy = legacy_mod:main\n\n"
        "[mega.plugins]\nlegacy = legacy_mod\n"
    )
    ours = {(e.name, e.value, e.distribution, e.dist_version) for e in Catalog.scan().entries()}
    theirs = {
        (ep.name, ep.value, ep.dist.metadata["Name"].lower(), ep.dist.version)
        for ep in md.entry_points(group="mega.plugins")
    }
    assert ours == theirs
    assert ("legacy", "legacy_mod", "legacy-pkg", "0.9") in ours


def _entries(catalog: Catalog) -> set[tuple[str, str, str, str]]:
    return {(e.name, e.value, e.distribution, e.dist_version) for e in catalog.entries()}


def test_a_distribution_installed_in_a_settled_folder_is_found_by_the_next_scan(site):
    site.plugin("first")
    settled = os.stat(site.root).st_mtime_ns - 60 * 10**9
    os.utime(site.root, ns=(settled, settled))
    assert "first" in Catalog.scan().names
    site.plugin("second")
    # installing moved the folder's mtime (set here: file systems tick it coarsely)
    os.utime(site.root, ns=(settled + 10**9, settled + 10**9))
    assert {"first", "second"} <= set(Catalog.scan().names)


def test_a_settled_folder_is_listed_once_while_its_mtime_stays(site, monkeypatch):
    site.plugin("first")
    settled = os.stat(site.root).st_mtime_ns - 60 * 10**9
    os.utime(site.root, ns=(settled, settled))
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        listed.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    Catalog.scan()
    Catalog.scan()
    assert listed.count(str(site.root)) == 1


def test_a_folder_changed_within_two_seconds_is_read_again_even_at_the_same_mtime(site):
    site.plugin("first")
    recent = time.time_ns()
    os.utime(site.root, ns=(recent, recent))
    assert "first" in Catalog.scan().names
    site.plugin("second")
    os.utime(site.root, ns=(recent, recent))  # a coarse clock: the same tick as the first scan
    assert "second" in Catalog.scan().names


def test_missing_sys_path_entries_are_skipped(site, monkeypatch):
    site.plugin("greeter")
    monkeypatch.syspath_prepend(str(site.root / "missing.zip"))
    monkeypatch.syspath_prepend("__editable__.some_dist.finder.__path_hook__")
    assert "greeter" in Catalog.scan().names


def test_a_plugin_in_a_zip_on_sys_path_is_found_through_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_pkg-2.0.dist-info/METADATA", "Name: Zipped.Pkg\nVersion: 2.0\n")
        zf.writestr("zipped_pkg-2.0.dist-info/entry_points.txt", "[mega.plugins]\nzipped = zm\n")
        zf.writestr("zm.py", "from mega import PluginSpec\nplugin = PluginSpec(name='zipped')\n")
    monkeypatch.syspath_prepend(str(archive))
    assert ("zipped", "zm", "zipped-pkg", "2.0") in _entries(Catalog.scan())


def test_egg_info_name_and_version_come_from_its_metadata_headers(site):
    egg = site.root / "Odd_Name.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nname: Odd.Name\nVersion: 3.1\nSummary: Version: 9\n\n"
        "Name: not-a-header\n"
    )
    (egg / "entry_points.txt").write_text("[mega.plugins]\nodd = odd_mod\n")
    assert ("odd", "odd_mod", "odd-name", "3.1") in _entries(Catalog.scan())
