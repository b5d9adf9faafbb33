"""Boot and shutdown: hook order, adapters between the hooks, failures, deadlines."""

from __future__ import annotations

import asyncio

import pytest

from mega import App, MegaConfigError, MegaLifecycleError, MegaShutdownError

RECORDER = {"recorder.py": "EVENTS = []\n"}

HOOKS = """
import asyncio
from recorder import EVENTS

@hookimpl
def mega_before_boot(app):
    EVENTS.append(("before_boot", plugin.name))

@hookimpl
async def mega_after_boot(app):
    await asyncio.sleep(0)
    EVENTS.append(("after_boot", plugin.name))

@hookimpl
async def mega_before_shutdown(app):
    EVENTS.append(("before_shutdown", plugin.name))

@hookimpl
def mega_after_shutdown(app):
    EVENTS.append(("after_shutdown", plugin.name))
"""

PROBE_DRIVER = """
from recorder import EVENTS

class Probe:
    def __init__(self, *, alias, options):
        self.alias = alias
    async def connect(self):
        EVENTS.append(("connect", self.alias))
    async def close(self):
        EVENTS.append(("close", self.alias))

@hookimpl
def mega_register(registry):
    # a kind of its own: the probe implements no more than every adapter does
    registry.adapter_kind("probe")
    registry.adapter_driver("probe", "probe", Probe)
"""


@pytest.fixture
def events(site):
    site.dist("recorder", files=RECORDER)
    import recorder

    return recorder.EVENTS


def config(*plugins, adapters=None, **app):
    return {"app": {"plugins": list(plugins), **app}, "adapters": adapters or {}}


async def test_hooks_run_in_dependency_order_with_adapters_between(site, events):
    site.plugin("db-ish", HOOKS + PROBE_DRIVER, provides="('store',)")
    site.plugin("web", HOOKS, requires="('store',)")
    # config order puts web first; web requires what db-ish provides, so db-ish boots first
    app = App.from_dict(
        config("web", "db-ish", adapters={"probe": {"main": {"driver": "probe"}}}), environ={}
    )
    assert [p.name for p in app.plugins] == ["db-ish", "web"]
    async with app:
        assert app.phase == "running"
        assert app.ctx().adapter("probe", "main").alias == "main"
    assert events == [
        ("before_boot", "db-ish"),
        ("before_boot", "web"),
        ("connect", "main"),
        ("after_boot", "db-ish"),
        ("after_boot", "web"),
        ("before_shutdown", "web"),
        ("before_shutdown", "db-ish"),
        ("close", "main"),
        ("after_shutdown", "web"),
        ("after_shutdown", "db-ish"),
    ]
    assert app.phase == "stopped"


async def test_shutdown_phases_share_one_deadline_counted_from_the_signal(site, events):
    from structlog.testing import capture_logs

    site.plugin("web", HOOKS)
    app = App.from_dict(config("web", shutdown_timeout_ms=5_000), environ={})
    await app.boot()
    app.begin_shutdown()  # what the signal handler does
    assert app.phase == "draining"
    assert app.shutdown_deadline - app.shutdown_started == 5.0
    await asyncio.sleep(0.05)  # the server draining requests
    app.log.warning("test.priming", why="structlog is configured before capturing")
    with capture_logs() as logs:
        await app.shutdown()
    assert app.phase == "stopped"
    line = next(entry for entry in logs if entry["event"] == "app.shutdown_phases")
    assert line["deadline_ms"] == 5_000
    assert line["phases"]["drain_requests"] >= 50
    assert "close_adapters" in line["phases"]
    assert line["total_ms"] >= line["phases"]["drain_requests"]
    assert line["failed"] == []


async def test_every_shutdown_hook_runs_even_when_earlier_ones_raise(site, events):
    failing = """
from recorder import EVENTS

@hookimpl
def mega_before_shutdown(app):
    EVENTS.append(("before_shutdown", plugin.name))
    raise RuntimeError(f"{plugin.name} cannot stop")
"""
    site.plugin("first", HOOKS)
    site.plugin("second", failing)
    site.plugin("third", failing)
    app = App.from_dict(config("first", "second", "third"), environ={})
    await app.boot()
    with pytest.raises(MegaShutdownError) as err:
        await app.shutdown()
    assert [e for e in events if e[0] == "before_shutdown"] == [
        ("before_shutdown", "third"),
        ("before_shutdown", "second"),
        ("before_shutdown", "first"),
    ]
    assert err.value.code == "lifecycle.shutdown_failed"
    steps = [step for step, _ in err.value.errors]
    assert steps == ["plugin 'third' mega_before_shutdown", "plugin 'second' mega_before_shutdown"]
    assert "third cannot stop" in err.value.message and "second cannot stop" in err.value.message
    assert app.phase == "stopped"


async def test_failed_boot_stops_what_started_and_names_the_plugin(site, events):
    site.plugin("steady", HOOKS + PROBE_DRIVER)
    site.plugin(
        "flaky",
        """
@hookimpl
def mega_after_boot(app):
    raise ValueError("no config for the thing")
""",
    )
    app = App.from_dict(
        config("steady", "flaky", adapters={"probe": {"c": {"driver": "probe"}}}), environ={}
    )
    with pytest.raises(MegaLifecycleError) as err:
        await app.boot()
    assert err.value.code == "lifecycle.hook_failed"
    assert err.value.details["plugin"] == "flaky"
    assert err.value.details["hook"] == "mega_after_boot"
    assert "no config for the thing" in err.value.message
    assert isinstance(err.value.__cause__, ValueError)
    assert events[-3:] == [
        ("before_shutdown", "steady"),
        ("close", "c"),
        ("after_shutdown", "steady"),
    ]
    assert app.phase == "failed"


async def test_a_slow_shutdown_hook_is_cancelled_at_the_deadline_and_the_rest_still_run(
    site, events
):
    site.plugin("fast", HOOKS)
    site.plugin(
        "slow",
        """
import asyncio
from recorder import EVENTS

@hookimpl
async def mega_before_shutdown(app):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        EVENTS.append(("cancelled", "slow"))
        raise
""",
    )
    app = App.from_dict(config("fast", "slow", shutdown_timeout_ms=100), environ={})
    await app.boot()
    with pytest.raises(MegaShutdownError) as err:
        await asyncio.wait_for(app.shutdown(), timeout=5)
    [(step, exc)] = err.value.errors
    assert step == "plugin 'slow' mega_before_shutdown"
    assert exc.code == "lifecycle.shutdown_deadline"
    assert "100 ms" in exc.message
    assert ("cancelled", "slow") in events
    # past the deadline every later step still gets a short turn: fast stops and flushes
    assert events[-2:] == [("before_shutdown", "fast"), ("after_shutdown", "fast")]


async def test_an_app_boots_once_and_shutdown_is_idempotent(site):
    site.plugin("noop")
    app = App.from_dict(config("noop"), environ={})
    await app.shutdown()  # before boot: nothing to do
    await app.boot()
    with pytest.raises(MegaLifecycleError) as err:
        await app.boot()
    assert err.value.code == "lifecycle.already_booted"
    await app.shutdown()
    await app.shutdown()
    assert app.phase == "stopped"


async def test_a_hook_gets_only_the_arguments_it_names_and_a_wrapper_wraps_its_plugins_impl(
    site, events
):
    site.plugin(
        "bare",
        """
from recorder import EVENTS

@hookimpl
def mega_after_boot():
    EVENTS.append("bare after_boot")
""",
    )
    site.plugin(
        "wrapped",
        """
from recorder import EVENTS

@hookimpl
def mega_after_boot(app):
    EVENTS.append("wrapped after_boot")

@hookimpl(specname="mega_after_boot", wrapper=True)
def around_after_boot(app):
    EVENTS.append("wrapper before")
    result = yield
    EVENTS.append("wrapper after")
    return result
""",
    )
    async with App.from_dict(config("bare", "wrapped"), environ={}):
        pass
    assert events == [
        "bare after_boot",
        "wrapper before",
        "wrapped after_boot",
        "wrapper after",
    ]


def test_unknown_hook_implementation_is_an_error_naming_the_plugin(site):
    site.plugin(
        "typo",
        """
@hookimpl
def mega_aftr_boot(app):
    pass
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("typo"), environ={})
    assert err.value.code == "plugin.unknown_hook"
    assert err.value.details["unknown"] == ["mega_aftr_boot"]
    assert "mega_after_boot" in err.value.details["known"]


def test_an_unmarked_mega_function_is_checked_as_a_hook_too(site):
    site.plugin(
        "unmarked",
        """
def mega_before_bot(app):
    pass
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("unmarked"), environ={})
    assert err.value.code == "plugin.unknown_hook"
    assert "mega_before_bot" in err.value.message


def test_hook_arguments_outside_the_hookspec_are_rejected(site):
    site.plugin(
        "badargs",
        """
@hookimpl
def mega_after_boot(app, request):
    pass
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict(config("badargs"), environ={})
    assert err.value.code == "plugin.invalid_hook"
    assert "badargs" in err.value.message and "request" in err.value.message


async def test_adapter_connect_failure_closes_connected_adapters_and_names_the_alias(site, events):
    site.plugin("drivers", PROBE_DRIVER)
    site.plugin(
        "unreachable",
        """
from recorder import EVENTS

class Down:
    def __init__(self, *, alias, options):
        pass
    async def connect(self):
        raise ConnectionRefusedError("127.0.0.1:1 refused")
    async def close(self):
        EVENTS.append(("close", "down"))

@hookimpl
def mega_register(registry):
    registry.adapter_driver("probe", "down", Down)
""",
    )
    app = App.from_dict(
        config(
            "drivers",
            "unreachable",
            adapters={"probe": {"ok": {"driver": "probe"}, "bad": {"driver": "down"}}},
        ),
        environ={},
    )
    with pytest.raises(MegaLifecycleError) as err:
        await app.boot()
    assert err.value.code == "adapter.connect_failed"
    assert "[adapters.probe.bad]" in err.value.message and "refused" in err.value.message
    assert ("connect", "ok") in events and ("close", "ok") in events
    assert ("close", "down") not in events  # never connected, so never closed


async def test_a_signal_during_a_boot_that_waits_for_a_server_stops_what_had_started(site, events):
    from mega.runner import run_until_signal

    site.plugin("steady", HOOKS + PROBE_DRIVER)
    site.plugin(
        "waiting",
        """
import asyncio

@hookimpl
async def mega_after_boot(app):
    await asyncio.sleep(3600)  # a connection retried until its server comes up
""",
    )
    app = App.from_dict(
        config("steady", "waiting", adapters={"probe": {"c": {"driver": "probe"}}}), environ={}
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stop.set)  # SIGTERM
    async with asyncio.timeout(10):  # before: waited out the hour
        await run_until_signal(app, stop=stop)
    assert app.phase == "failed"
    assert events[-3:] == [
        ("before_shutdown", "steady"),
        ("close", "c"),
        ("after_shutdown", "steady"),
    ]
