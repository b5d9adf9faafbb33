"""The plugin as the kernel sees it: installed through its entry point, listed by
``mega plugins``, its keys in no repr, dump or log line, its extra named when missing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mega import MegaError
from mega.plugins.secure import SecureSettings, runtime_of
from mega.testing import boot_app

from .conftest import b64, new_key, secure_config


def test_mega_plugins_lists_it(tmp_path):
    listed = subprocess.run(
        [sys.executable, "-m", "mega", "plugins", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert names["secure"]["distribution"] == "mega-framework"


async def test_keys_appear_in_no_repr_dump_or_log_line(keys, capsys):
    config = secure_config(keys, plugins=("memory", "http", "secure"))
    secrets = [b64(keys.acme_1), b64(keys.ticket)]
    async with boot_app(config, environ={}) as app:
        settings = app.plugin_config("secure")
        assert isinstance(settings, SecureSettings)
        shown = [repr(settings), settings.model_dump_json(), str(settings.model_dump())]
        shown.append(repr(runtime_of(app).keyring.resolve("acme-1", runtime_of(app).clock())))
        app.log.info("secure.settings", settings=settings)
    shown += list(capsys.readouterr())
    for text in shown:
        for secret in secrets:
            assert secret not in text


async def test_a_bad_value_next_to_a_key_is_reported_without_the_key():
    key = b64(new_key())
    config = {
        "app": {"plugins": ["memory", "http", "secure"]},
        "adapters": {"cache": {"default": {"driver": "memory"}}},
        "plugins": {"secure": {"clients": {"acme": {"keys": {"k1": key}, "not_after": "x"}}}},
    }
    with pytest.raises(MegaError) as caught:
        async with boot_app(config, environ={}):
            pass
    assert "not_after" in str(caught.value) and key not in str(caught.value)
