"""``[plugins.auth]`` is checked at boot: every bad value stops it with a message naming the
key, the value and what would do."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.plugins.auth import AuthSettings, GuardSettings
from mega.testing import boot_app

from .conftest import config


async def test_the_defaults_are_argon2_cffis_own_and_pass_the_owasp_floor():
    settings = AuthSettings()
    assert (settings.time_cost, settings.memory_cost, settings.parallelism) == (3, 65_536, 4)
    assert (settings.hash_len, settings.salt_len) == (32, 16)
    guard = GuardSettings()
    assert (guard.account_threshold, guard.address_threshold) == (5, 20)
    assert (guard.base_lock_s, guard.max_lock_s, guard.window_s) == (30, 900, 3_600)


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ({"time_cost": 1, "memory_cost": 19_456}, "memory_cost", "needs memory_cost >= 47104 KiB"),
        ({"time_cost": 2, "memory_cost": 12_288}, "memory_cost", "OWASP's minimum"),
        ({"memory_cost": 8 * 1024 * 1024}, "memory_cost", "less than or equal to 4194304"),
        ({"memory_cost": 7168, "parallelism": 1000}, "parallelism", "less than or equal to 64"),
        ({"time_cost": 0}, "time_cost", "greater than or equal to 1"),
        ({"salt_len": 8}, "salt_len", "greater than or equal to 16"),
        ({"hash_len": 4}, "hash_len", "greater than or equal to 16"),
        ({"max_password_length": 10}, "max_password_length", "greater than or equal to 64"),
        ({"user_loader": "apps.main.people"}, "user_loader", "'package.module:function'"),
        ({"login_url": "https://evil.example/login"}, "login_url", "a path on this site"),
        ({"login_url": "//evil.example"}, "login_url", "a path on this site"),
        ({"guard": {"max_lock_s": 10}}, "guard.max_lock_s", "at least base_lock_s (30 s)"),
        ({"guard": {"max_lock_s": 7200}}, "guard.max_lock_s", "window_s (3600 s) is shorter"),
        (
            {"guard": {"account_threshold": 0}},
            "guard.account_threshold",
            "greater than or equal to 1",
        ),
        ({"guard": {"cache": "a b"}}, "guard.cache", "[adapters.cache.<alias>]"),
        ({"guard": {"ipv6_prefix": 8}}, "guard.ipv6_prefix", "greater than or equal to 32"),
        ({"time_cots": 4}, "time_cots", "time_cost"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
async def test_a_bad_value_stops_the_boot_naming_the_key_and_the_rule(table, key, says):
    with pytest.raises(MegaConfigError) as refused:
        async with boot_app(config(table), environ={}):
            pass
    message = str(refused.value)
    assert f"plugins.auth.{key}" in message
    assert says in message


async def test_a_guard_cache_that_is_not_configured_stops_the_boot_naming_it():
    with pytest.raises(MegaConfigError) as refused:
        async with boot_app(config({"guard": {"cache": "counters"}}), environ={}):
            pass
    assert refused.value.code == "auth.no_cache"
    assert "[plugins.auth.guard] cache = 'counters'" in refused.value.message
    assert "configured cache aliases: default" in refused.value.message


async def test_the_plugin_needs_a_cache_plugin_enabled():
    with pytest.raises(MegaConfigError) as refused:
        async with boot_app(config(plugins=("auth",), adapters={}), environ={}):
            pass
    assert "cache" in str(refused.value) and "auth" in str(refused.value)


NO_INCR = """
class Forgetful:
    def __init__(self, *, alias, options):
        self.values = {}

    async def connect(self):
        pass

    async def close(self):
        pass

    async def get(self, key, default=None):
        return self.values.get(key, default)

    async def set(self, key, value, *, ttl_ms=None):
        self.values[key] = value

    async def delete(self, key):
        return self.values.pop(key, None) is not None


@hookimpl
def mega_register(registry):
    registry.adapter_driver("cache", "forgetful", Forgetful, description="no incr")
"""


async def test_a_cache_that_cannot_count_atomically_is_refused_at_boot(site):
    site.plugin("forgetful", NO_INCR, provides="('cache',)")
    adapters = {"cache": {"default": {"driver": "forgetful"}}}
    with pytest.raises(MegaConfigError) as refused:
        async with boot_app(config(plugins=("forgetful", "auth"), adapters=adapters), environ={}):
            pass
    # the kernel checks the cache contract (mega.Cache) when it builds the adapter
    assert "incr" in str(refused.value)
