"""[adapters.<kind>.<alias>]: built from registered drivers, resolved through ctx by alias."""

from __future__ import annotations

import pytest

from mega import App, MegaConfigError, MegaError, MegaNotFoundError, import_driver


def cache_config(**aliases):
    return {"app": {"plugins": ["memory"]}, "adapters": {"cache": aliases}}


async def test_ctx_resolves_adapters_by_alias_and_names_the_configured_ones_when_unknown():
    app = App.from_dict(
        cache_config(default={"driver": "memory"}, sessions={"driver": "memory"}), environ={}
    )
    async with app:
        ctx = app.ctx(request_id="r-1")
        await ctx.cache().set("k", "v")
        assert await ctx.cache("default").get("k") == "v"
        assert await ctx.cache("sessions").get("k") is None
        with pytest.raises(MegaNotFoundError) as err:
            ctx.cache("sesions")
        assert err.value.code == "adapter.unknown_alias"
        assert err.value.details["configured"] == ["default", "sessions"]
        assert "[adapters.cache.sesions]" in err.value.message
        with pytest.raises(MegaNotFoundError) as err:
            ctx.db()
        assert "configured db aliases: (none)" in err.value.message


def test_an_unknown_driver_lists_the_registered_ones():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cache_config(default={"driver": "memroy"}), environ={})
    assert err.value.code == "driver.unknown"
    assert "cache driver 'memroy' is not known (did you mean 'memory'?)" in err.value.message
    assert err.value.details["known"] == ["memory"]


def test_a_builtin_driver_whose_plugin_is_not_enabled_says_so():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cache_config(default={"driver": "redis"}), environ={})
    assert err.value.code == "driver.not_enabled"
    assert "'redis' is one of mega's builtin cache drivers" in err.value.message


def test_a_table_without_a_driver_says_which_drivers_exist():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cache_config(default={"max_entries": 3}), environ={})
    assert err.value.code == "adapter.missing_driver"
    assert "registered cache drivers: memory" in err.value.message


def test_driver_options_are_validated_by_the_driver_model():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cache_config(default={"driver": "memory", "max_entries": 0}), environ={})
    assert err.value.details["key"] == "adapters.cache.default.max_entries"
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(cache_config(default={"driver": "memory", "max_entires": 3}), environ={})
    assert "did you mean 'max_entries'?" in err.value.message


def test_an_unknown_adapter_kind_in_config_is_an_error():
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(
            {
                "app": {"plugins": ["memory"]},
                "adapters": {"caches": {"default": {"driver": "memory"}}},
            },
            environ={},
        )
    assert err.value.code == "adapter.unknown_kind"
    assert "did you mean 'cache'?" in err.value.message


async def test_adapters_are_usable_only_between_boot_and_shutdown():
    app = App.from_dict(cache_config(default={"driver": "memory"}), environ={})
    cache = app.ctx().cache()
    with pytest.raises(MegaError) as err:
        await cache.get("k")
    assert err.value.code == "adapter.not_connected"
    async with app:
        await cache.set("k", 1)
    with pytest.raises(MegaError):
        await cache.get("k")


def test_a_missing_driver_library_names_the_extra_to_install():
    with pytest.raises(MegaConfigError) as err:
        import_driver("surely_not_installed_lib", extra="nats", what="the nats bus driver")
    assert err.value.code == "driver.missing_extra"
    assert "pip install 'mega-framework[nats]'" in err.value.message
    assert isinstance(err.value.__cause__, ImportError)
