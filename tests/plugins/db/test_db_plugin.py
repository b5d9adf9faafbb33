"""The db adapter inside an app, configured from mega.toml, and `mega g model`."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.plugins.db import CreateTable, Model, String
from mega.testing import boot_app


class Note(Model):
    __table__ = "notes"
    title = String(80)


async def test_ctx_db_is_the_configured_adapter(tmp_path):
    config = {
        "app": {"plugins": ["db", "sqlite"]},
        "adapters": {"db": {"default": {"driver": "sqlite", "path": str(tmp_path / "a.db")}}},
    }
    async with boot_app(config) as app:
        db = app.ctx().db()
        await db.apply([CreateTable(Note.table_def())])
        key = await db.insert(Note, {"title": "hello"})
        assert (await db.get(Note, key))["title"] == "hello"
    # the adapter was closed with the app; the data stayed in the file
    async with boot_app(config) as app:
        assert await app.ctx().db().count(Note) == 1


def test_bad_adapter_options_name_the_key():
    from mega import App

    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {
                "app": {"plugins": ["db", "sqlite"]},
                "adapters": {"db": {"default": {"driver": "sqlite", "pool_size": 0}}},
            },
            environ={},
        )
    assert err.value.details["key"] == "adapters.db.default.pool_size"


def test_a_third_party_cannot_take_a_builtin_dialect_name():
    from mega.registry import Owner, Registry

    registry = Registry()
    outsider = registry.for_plugin(Owner("x", "x-dist", "1.0"), __import__("pathlib").Path("."))
    with pytest.raises(MegaConfigError) as err:
        outsider.dialect("postgres", object())
    assert err.value.code == "plugin.builtin_dialect_conflict"


def test_generated_model_and_its_test_pass(project, enable, mega):
    enable("db", "sqlite")
    out = mega("g", "model", "BlogPost", cwd=project).stdout
    assert "created apps/main/models/blog_post.py" in out
    assert "created tests/main/test_blog_post_model.py" in out
    result = mega.pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " failed" not in result.stdout and " skipped" not in result.stdout
