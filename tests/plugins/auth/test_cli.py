"""``mega plugins`` knows the auth plugin: installed with mega, enabled by config."""

from __future__ import annotations

import json

AUTH = "\n[plugins.auth]\ntime_cost = 5\nmemory_cost = 7168\nparallelism = 1\n"


def test_mega_plugins_lists_auth_as_installed_and_not_enabled(mega, project):
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    row = {r["name"]: r for r in listing["plugins"]}["auth"]
    assert row["distribution"] == "mega-framework"
    assert row["enabled"] is False  # and not imported: nothing is known of it but its name


def test_mega_plugins_shows_auth_enabled_with_what_it_needs(mega, project, enable):
    enable("auth", extra=AUTH)
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    row = {r["name"]: r for r in listing["plugins"]}["auth"]
    assert row["enabled"] is True
    assert "argon2id" in row["description"]
    assert (row["requires"], row["provides"]) == (["cache"], ["auth"])
    assert listing["problems"] == []
    assert "auth" in mega("plugins", cwd=project).stdout
    mega("plugins", "check", cwd=project)
