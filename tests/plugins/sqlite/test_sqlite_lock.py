"""The sqlite lock driver passes the lock conformance kit, across processes on one host."""

from __future__ import annotations

import pytest

from mega import MegaConfigError, MegaError
from mega.plugins.sqlite import SqliteLock, SqliteLockOptions
from mega.testing import boot_app
from mega.testing.lock_suite import *  # noqa: F403
from mega.testing.lock_suite import connected_locks


@pytest.fixture
async def lock_factory(tmp_path):
    options = SqliteLockOptions(path=str(tmp_path / "l.db"))
    async with connected_locks(lambda: SqliteLock(alias="t", options=options)) as make:
        yield make


async def test_the_driver_is_reached_through_ctx_lock(tmp_path):
    config = {
        "app": {"plugins": ["sqlite"]},
        "adapters": {
            "lock": {"default": {"driver": "sqlite", "path": str(tmp_path / "nested" / "l.db")}}
        },
    }
    async with boot_app(config, environ={}) as app:
        async with app.ctx().lock().hold("k", ttl_ms=1000) as held:
            assert held.token == 1
    assert (tmp_path / "nested" / "l.db").is_file()  # the folder is created


async def test_a_lock_file_that_cannot_be_created_fails_the_boot_naming_the_adapter(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = {
        "app": {"plugins": ["sqlite"]},
        "adapters": {"lock": {"default": {"driver": "sqlite", "path": str(blocker / "l.db")}}},
    }
    with pytest.raises(MegaError) as err:
        async with boot_app(config, environ={}):
            pass
    assert err.value.code == "adapter.connect_failed"
    assert "[adapters.lock.default]" in err.value.message


def test_options_are_validated():
    from mega import App

    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {
                "app": {"plugins": ["sqlite"]},
                "adapters": {"lock": {"default": {"driver": "sqlite", "op_timeout_ms": 0}}},
            },
            environ={},
        )
    assert err.value.details["key"] == "adapters.lock.default.op_timeout_ms"
