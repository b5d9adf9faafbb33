"""Each extension point a first-party plugin declares, implemented by a plugin of its own
(``site.plugin``: a distribution found through its entry point), against the real plugins."""

from __future__ import annotations

import asyncio
import time

import pytest

from mega import App, MegaConfigError
from mega.testing import boot_app, fire_schedule, http_client

ORDERED_WRAPPERS = """
import contextlib

CALLS = []

def wrapper(tag):
    @contextlib.contextmanager
    def around(scope, route):
        CALLS.append(f"enter {tag} {route}")
        def finish(status):
            CALLS.append(f"finish {tag} {status}")
        yield finish
        CALLS.append(f"exit {tag}")
    return around
"""


async def test_request_wrappers_nest_in_plugin_order_and_asgi_wrappers_wrap_routing(site):
    site.dist("calls", files={"calls.py": ORDERED_WRAPPERS})
    for tag in ("outer", "inner"):
        site.plugin(
            f"wrap-{tag}",
            f"""
from calls import CALLS, wrapper
from mega.plugins.http import get

@hookimpl
def mega_http_wrap_request(app):
    return wrapper({tag!r})

@hookimpl
def mega_http_middleware(app):
    def wrap(asgi):
        async def tagged(scope, receive, send):
            if scope["type"] == "http":
                CALLS.append("asgi {tag}")
            await asgi(scope, receive, send)
        return tagged
    return wrap
""",
            requires="('http',)",
        )
    site.plugin(
        "pinger",
        """
from mega.plugins.http import get

async def ping(n: int):
    return {"pong": n}

@hookimpl
def mega_http_routes(app):
    return [get("/ping/{n}", ping, name="ping")]

@hookimpl
def mega_http_asgi_routes(app):
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def raw(request):
        return PlainTextResponse("served as it is")

    return [Route("/raw", raw)]
""",
        requires="('http',)",
    )
    import calls

    config = {"app": {"plugins": ["http", "wrap-outer", "wrap-inner", "pinger"]}}
    async with boot_app(config, environ={}) as app, http_client(app) as client:
        assert app.hooks.implementers("mega_http_wrap_request") == ["wrap-outer", "wrap-inner"]
        response = await client.get("/ping/1")
        raw = await client.get("/raw")
    assert response.status_code == 200
    assert raw.text == "served as it is"  # no envelope, not observed
    assert calls.CALLS == [
        "asgi outer",
        "asgi inner",
        "enter outer /ping/{n}",
        "enter inner /ping/{n}",
        "finish inner 200",
        "finish outer 200",
        "exit inner",
        "exit outer",
        "asgi outer",
        "asgi inner",
    ]


async def test_a_failing_request_observer_is_logged_and_the_others_still_see_the_request(site):
    site.plugin(
        "broken-observer",
        """
@hookimpl
def mega_http_observer(app):
    def observe(scope, route, status, seconds):
        raise RuntimeError("observer bug")
    return observe
""",
        requires="('http',)",
    )
    site.plugin(
        "counting-observer",
        """
SEEN = []

@hookimpl
def mega_http_observer(app):
    def observe(scope, route, status, seconds):
        SEEN.append((route, status, scope.get("mega.error") is not None))
    return observe
""",
        requires="('http',)",
    )
    import counting_observer_plugin

    config = {"app": {"plugins": ["http", "health", "broken-observer", "counting-observer"]}}
    async with boot_app(config, environ={}) as app, http_client(app) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200  # the response went out whatever the observer did
    assert counting_observer_plugin.SEEN == [("/health/live", 200, False)]


async def test_message_headers_are_merged_onto_every_enqueued_message(site, tmp_path):
    for name, headers in (("first", {"x-a": "1", "x-shared": "first"}), ("second", {"x-b": "2"})):
        site.plugin(
            f"headers-{name}",
            f"""
@hookimpl
def mega_jobs_message_headers(app):
    return lambda: {headers!r}
""",
        )
    config = {
        "app": {"plugins": ["jobs", "headers-first", "headers-second"]},
        "adapters": {"bus": {"default": {"driver": "local", "path": str(tmp_path / "j.db")}}},
    }
    from mega.plugins.jobs import Job

    class Ping(Job):
        subject = "hooks.ping"

        async def run(self, payload, ctx):
            return payload

    async with boot_app(config, environ={}) as app:
        jobs = app.ctx().jobs
        jobs.add(Ping)
        await jobs.enqueue(Ping, {"n": 1})
        consumer = await app.adapters.get("bus").consumer(jobs.queue().consumer_config(Ping))
        [delivery] = await consumer.fetch(1, 1.0)
        await consumer.close()
    assert delivery.headers == {"x-a": "1", "x-shared": "first", "x-b": "2"}


async def test_schedule_listeners_hear_every_fire(site, tmp_path, monkeypatch):
    site.plugin(
        "fire-log",
        """
HEARD = []

@hookimpl
def mega_schedule_listeners(app):
    return {"fire": lambda e: HEARD.append(("fire", e.schedule)),
            "done": lambda e: HEARD.append(("done", e.schedule, e.result))}
""",
    )
    import fire_log_plugin

    from mega.plugins.schedule import Schedule

    class Tick(Schedule):
        cron = "0 0 1 1 *"

        async def run(self, ctx):
            return "ticked"

    config = {
        "app": {"plugins": ["schedule", "fire-log"]},
        "plugins": {"schedule": {"start": False}},
    }
    async with boot_app(config, environ={}) as app:
        app.extensions["schedule"].add(Tick)
        await fire_schedule(app, Tick)
    assert fire_log_plugin.HEARD == [("fire", "Tick"), ("done", "Tick", "ticked")]


def test_a_listener_for_an_event_that_does_not_exist_fails_at_boot(site):
    site.plugin(
        "typo",
        """
@hookimpl
def mega_schedule_listeners(app):
    return {"fired": lambda e: None}
""",
    )
    app = App.from_dict(
        {"app": {"plugins": ["schedule", "typo"]}, "plugins": {"schedule": {"start": False}}},
        environ={},
    )

    async def boot() -> None:
        async with app:
            pass

    with pytest.raises(MegaConfigError) as err:
        asyncio.run(boot())
    assert err.value.code == "events.unknown"
    assert "plugin 'typo' listens to 'fired'" in err.value.message
    assert "done, fail, fire, skip" in err.value.message


async def test_ws_channels_and_listeners_from_another_plugin(site):
    site.plugin(
        "lobby",
        """
from mega.plugins.ws import Channel

HEARD = []

class Lobby(Channel):
    topic = "lobby"

@hookimpl
def mega_ws_channels(app):
    return [Lobby]

@hookimpl
def mega_ws_listeners(app):
    return {"join": lambda e: HEARD.append(("join", e.topic)),
            "disconnect": lambda e: HEARD.append(("disconnect", e.reason))}
""",
        requires="('ws',)",
    )
    import lobby_plugin

    from mega.testing import serve_http, ws_connect

    config = {
        "app": {"plugins": ["http", "ws", "lobby"]},
        "plugins": {"ws": {"allowed_origins": ["*"]}},
        "adapters": {"presence": {"default": {"driver": "local"}}},
    }
    async with boot_app(config, environ={}) as app, serve_http(app) as base_url:
        async with ws_connect(base_url) as client:
            await client.join("lobby")
        deadline = time.monotonic() + 5
        while len(lobby_plugin.HEARD) < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    assert lobby_plugin.HEARD[0] == ("join", "lobby")
    assert lobby_plugin.HEARD[1][0] == "disconnect"


async def test_metrics_instruments_and_collectors_from_another_plugin(site):
    site.plugin(
        "gauges",
        """
from mega.plugins.metrics import Family

@hookimpl
def mega_metrics_instruments(app, metrics):
    metrics.counter("acme_things", "Things done.").inc(3)

@hookimpl
def mega_metrics_collectors(app):
    return lambda: [Family("acme_queue_depth", "gauge", "Queued things.", [({}, 7.0)])]
""",
        requires="('metrics',)",
    )
    config = {"app": {"plugins": ["metrics", "gauges"]}, "plugins": {"metrics": {"process": False}}}
    async with boot_app(config, environ={}) as app:
        text = await app.ctx().metrics.scrape()
    assert "acme_things_total 3.0" in text
    assert "acme_queue_depth 7.0" in text


def test_db_models_come_from_the_plugins_that_keep_tables(site):
    from mega.plugins.db import Model
    from mega.plugins.jobs import JobOutbox

    site.plugin(
        "audit-table",
        """
from mega.plugins.db import Model, String

class AuditEntry(Model):
    table = "audit_entries"
    action = String()

@hookimpl
def mega_db_models(app):
    return [AuditEntry]
""",
    )
    app = App.from_dict({"app": {"plugins": ["db", "jobs", "audit-table"]}}, environ={})
    models = [m for found in app.hooks.collect("mega_db_models", app=app) for m in found]
    assert JobOutbox in models
    assert [m.__name__ for m in models if m is not JobOutbox] == ["AuditEntry"]
    assert all(issubclass(m, Model) for m in models)


def test_hooks_of_a_plugin_that_is_installed_but_off_are_dormant(site):
    site.plugin(
        "apm",
        """
@hookimpl
def mega_ws_listeners(app):
    raise AssertionError("never called: ws is not enabled")
""",
    )
    app = App.from_dict({"app": {"plugins": ["apm"]}}, environ={})
    assert app.hooks.implementers("mega_ws_listeners") == []


def test_a_hook_no_installed_plugin_declares_is_an_error(site):
    site.plugin(
        "typo-hook",
        """
@hookimpl
def mega_htpp_observer(app):
    return None
""",
    )
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["typo-hook"]}}, environ={})
    assert err.value.code == "plugin.unknown_hook"
    assert "mega_htpp_observer" in err.value.message
    assert "mega_http_observer" not in err.value.details["known"]  # http is not enabled


def test_a_plugin_declares_its_own_hooks_for_others(site):
    site.dist(
        "acme-hooks",
        files={
            "acme_spec.py": """
from mega import hookspec

@hookspec
def mega_acme_redact(app, record):
    '''Fields to drop from an audit record.'''
""",
        },
    )
    site.plugin(
        "acme",
        """
import acme_spec

@hookimpl
def mega_after_boot(app):
    record = {"user": "ada", "password": "x", "token": "y"}
    for drop in app.hooks.collect("mega_acme_redact", app=app, record=record):
        for key in drop:
            record.pop(key, None)
    app.extensions["acme"] = record
""",
        hooks="acme_spec",
    )
    site.plugin(
        "acme-secrets",
        """
@hookimpl
def mega_acme_redact(record):  # an implementation takes the arguments it needs
    return ["password"] if "password" in record else None

@hookimpl
def mega_ws_listeners(app):  # ws is installed but off: dormant
    return None
""",
    )
    site.plugin("acme-tokens", "@hookimpl\ndef mega_acme_redact(app):\n    return ['token']\n")

    async def run() -> dict:
        config = {"app": {"plugins": ["acme-tokens", "acme", "acme-secrets"]}}
        async with boot_app(config, environ={}) as app:
            assert app.hooks.implementers("mega_acme_redact") == ["acme-tokens", "acme-secrets"]
            return dict(app.extensions["acme"])

    assert asyncio.run(run()) == {"user": "ada"}


def test_declared_hooks_must_carry_the_plugins_name(site):
    site.dist(
        "bad-spec",
        files={
            "bad_spec.py": "from mega import hookspec\n\n@hookspec\ndef mega_http_x(app): ...\n"
        },
    )
    site.plugin("squatter", "import bad_spec\n", hooks="bad_spec")
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["squatter"]}}, environ={})
    assert err.value.code == "plugin.invalid_hookspec"
    assert "mega_squatter_<what>" in err.value.message and "mega_http_x" in err.value.message


def test_ctx_attributes_come_from_their_plugins_and_cannot_shadow_the_kernels(site):
    site.plugin(
        "clock",
        """
@hookimpl
def mega_register(registry):
    registry.ctx_attribute("clock", lambda app: "tick")
""",
    )
    site.plugin(
        "shadow",
        """
@hookimpl
def mega_register(registry):
    registry.ctx_attribute("db", lambda app: None)
""",
    )
    app = App.from_dict({"app": {"plugins": ["clock"]}}, environ={})
    assert app.ctx().clock == "tick"
    with pytest.raises(AttributeError, match="no attribute 'clokc'"):
        _ = app.ctx().clokc
    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["shadow"]}}, environ={})
    assert err.value.code == "plugin.builtin_ctx_attribute_conflict"


def test_tool_apps_start_no_background_work(tmp_path, monkeypatch):
    import sys
    import textwrap

    files = {
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/jobs/ping.py": """
            from mega.plugins.jobs import Job

            class Ping(Job):
                subject = "tool.ping"

                async def run(self, payload, ctx):
                    return payload
        """,
        "apps/main/schedules/tick.py": """
            from mega.plugins.schedule import Schedule

            class Tick(Schedule):
                cron = "0 0 1 1 *"

                async def run(self, ctx):
                    return None
        """,
    }
    for rel, source in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {
        "app": {"plugins": ["jobs", "schedule"]},
        "plugins": {"jobs": {"consume": True}},
        "adapters": {"bus": {"default": {"driver": "local", "path": str(tmp_path / "j.db")}}},
    }

    async def run(tool: bool) -> tuple[bool, int, int]:
        for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
            del sys.modules[name]
        app = App.from_dict(config, root=tmp_path, environ={}, tool=tool)
        async with app:
            return (
                app.tool,
                len(app.extensions["schedule"]._loops),
                len(app.ctx().jobs.consumptions),
            )

    assert asyncio.run(run(tool=False)) == (False, 1, 1)
    assert asyncio.run(run(tool=True)) == (True, 0, 0)


def test_plugins_wrap_adapters_in_order_with_the_table_keys_they_declared(site):
    site.plugin(
        "tagger",
        """
class Tagged:
    def __init__(self, inner, tag):
        self.inner, self.tag = inner, tag
    def __getattr__(self, name):
        return getattr(self.inner, name)

@hookimpl
def mega_register(registry):
    registry.adapter_option("tag", "a label to wrap the adapter with")

@hookimpl
def mega_wrap_adapter(kind, alias, adapter, options):
    if "tag" not in options:
        return None
    return Tagged(adapter, options["tag"])
""",
    )
    site.plugin(
        "outer-tagger",
        """
@hookimpl
def mega_wrap_adapter(adapter):
    from tagger_plugin import Tagged
    return Tagged(adapter, "outer") if isinstance(adapter, Tagged) else None
""",
    )
    config = {
        "app": {"plugins": ["memory", "tagger", "outer-tagger"]},
        "adapters": {
            "cache": {"tagged": {"driver": "memory", "tag": "blue"}, "plain": {"driver": "memory"}}
        },
    }

    async def run() -> tuple[str, str, str, object]:
        async with boot_app(config, environ={}) as app:
            tagged, plain = app.ctx().cache("tagged"), app.ctx().cache("plain")
            await tagged.set("k", 1)  # connected through the proxies
            return tagged.tag, tagged.inner.tag, type(plain).__name__, await tagged.get("k")

    assert asyncio.run(run()) == ("outer", "blue", "MemoryCache", 1)


async def test_run_job_goes_through_the_run_wrappers_headers_and_listeners(site):
    site.plugin(
        "job-watch",
        """
import contextlib

SEEN = []

@hookimpl
def mega_jobs_message_headers(app):
    return lambda: {"x-trace": "t1"}

@hookimpl
def mega_jobs_wrap_run(app):
    @contextlib.contextmanager
    def wrap(subject, delivery):
        SEEN.append(("wrap", subject, delivery.headers.get("x-trace")))
        yield
    return wrap

@hookimpl
def mega_jobs_listeners(app):
    return {
        "start": lambda e: SEEN.append(("start", e.subject)),
        "done": lambda e: SEEN.append(("done", e.subject, e.result)),
        "fail": lambda e: SEEN.append(("fail", e.subject, e.phase)),
    }
""",
    )
    import job_watch_plugin

    from mega.plugins.jobs import Job
    from mega.testing import run_job

    class Double(Job):
        subject = "watch.double"

        async def run(self, payload, ctx):
            if payload["n"] < 0:
                raise ValueError("negative")
            return payload["n"] * 2

    async with boot_app({"app": {"plugins": ["jobs", "job-watch"]}}, environ={}) as app:
        assert await run_job(app, Double, {"n": 21}) == 42
        with pytest.raises(ValueError):
            await run_job(app, Double, {"n": -1})
    assert job_watch_plugin.SEEN == [
        ("start", "watch.double"),
        ("wrap", "watch.double", "t1"),
        ("done", "watch.double", 42),
        ("start", "watch.double"),
        ("wrap", "watch.double", "t1"),
        ("fail", "watch.double", "run"),
    ]


def test_a_readiness_check_name_taken_by_an_adapter_or_another_plugin_stops_the_boot(site):
    site.plugin(
        "squat-db",
        """
@hookimpl
def mega_health_checks(app):
    return {"cache.default": lambda: None}
""",
    )
    config = {
        "app": {"plugins": ["memory", "http", "health", "squat-db"]},
        "adapters": {"cache": {"default": {"driver": "memory"}}},
    }

    async def boot() -> None:
        async with boot_app(config, environ={}):
            pass

    with pytest.raises(MegaConfigError) as err:
        asyncio.run(boot())
    assert err.value.code == "health.duplicate_check"
    assert "'cache.default' of plugin 'squat-db' is taken (by the adapter itself)" in str(err.value)
