"""``mega.testing``: boot_app and the ``app`` fixture users get through the pytest11 entry point."""

from __future__ import annotations

import pytest

from mega.testing import boot_app

pytest_plugins = ["pytester"]


async def test_boot_app_boots_from_a_dict_and_shuts_down():
    async with boot_app(
        {"app": {"plugins": ["memory"]}, "adapters": {"cache": {"default": {"driver": "memory"}}}},
        environ={},
    ) as app:
        assert app.phase == "running"
        await app.ctx().cache().set("k", 1)
    assert app.phase == "stopped"


async def test_boot_app_needs_a_config_or_a_root():
    with pytest.raises(TypeError, match="config mapping or a project root"):
        async with boot_app():
            pass


def test_the_app_fixture_boots_the_project_mega_toml(pytester):
    pytester.makefile(
        ".toml",
        mega='[app]\nname = "fixture-demo"\nplugins = ["memory"]\n'
        '[adapters.cache.default]\ndriver = "memory"\n',
    )
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile("""
        async def test_uses_app(app):
            assert app.config.app.name == "fixture-demo"
            await app.ctx().cache().set("x", 2)
            assert await app.ctx().cache().get("x") == 2
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_mega_config_overrides_what_the_app_fixture_boots(pytester):
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def mega_config():
            return {"app": {"name": "from-dict", "plugins": []}}
    """)
    pytester.makepyfile("""
        async def test_uses_app(app):
            assert app.config.app.name == "from-dict"
            assert app.plugins == []
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
