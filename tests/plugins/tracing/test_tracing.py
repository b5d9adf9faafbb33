"""Tracing: HTTP server spans continue the caller's trace, and a job enqueued during a request
runs as part of the same trace — through the local store and through the real NATS."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap
import time
import uuid

import pytest

from mega.testing import boot_app, http_client

JOB = """
from mega.plugins.jobs import Job


class Ship(Job):
    subject = "SUBJECT"

    async def run(self, payload, ctx):
        return payload
"""

ROUTES = """
from mega.plugins.http import get

from apps.main.jobs.ship import Ship


async def item(ctx, id: int):
    await ctx.jobs.enqueue(Ship, {"id": id})
    return {"id": id}


routes = [get("/items/{id}", item)]
"""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def forget() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


@contextlib.asynccontextmanager
async def traced_app(tmp_path, monkeypatch, bus: dict, sample_ratio: float = 1.0):
    subject = f"t{uuid.uuid4().hex[:8]}.ship"
    for rel, source in {
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/jobs/ship.py": JOB.replace("SUBJECT", subject),
        "apps/main/routes/items.py": ROUTES,
    }.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    forget()
    config = {
        "app": {"plugins": ["http", "jobs", "tracing"], "name": "shop"},
        "plugins": {"tracing": {"exporter": "memory", "sample_ratio": sample_ratio}},
        "adapters": {"bus": {"default": bus}},
    }
    try:
        async with boot_app(config, root=tmp_path, environ={}) as app:
            yield app, subject
            if bus["driver"] == "nats":
                await app.adapters.get("bus").delete_streams(subject)
    finally:
        forget()


def bus_config(kind: str, tmp_path) -> dict:
    if kind == "local":
        return {"driver": "local", "path": str(tmp_path / "jobs.sqlite3"), "poll_ms": 20}
    from mega.testing.services import require

    host, port = require("nats")
    return {"driver": "nats", "servers": [f"nats://{host}:{port}"],
            "stream_prefix": f"T{uuid.uuid4().hex[:8]}"}  # fmt: skip


@pytest.mark.parametrize("kind", ["local", "nats"])
async def test_a_job_enqueued_in_a_request_runs_in_the_same_trace(kind, tmp_path, monkeypatch):
    async with traced_app(tmp_path, monkeypatch, bus_config(kind, tmp_path)) as (app, subject):
        tracing = app.extensions["tracing"]
        async with http_client(app) as client:
            response = await client.get(
                "/items/7", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
            )
        assert response.status_code == 200
        jobs = app.ctx().jobs
        done = []
        jobs.events.on("done", done.append)
        await jobs.start()
        deadline = time.monotonic() + 10
        while not done:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        spans = {s.name: s for s in tracing.finished_spans()}
    server = spans["GET /items/{id}"]
    run = spans[f"{subject} process"]
    assert format(server.context.trace_id, "032x") == TRACE_ID  # continued the caller's trace
    assert format(server.parent.span_id, "016x") == PARENT
    assert server.attributes["http.route"] == "/items/{id}"  # the template, not /items/7
    assert server.attributes["http.response.status_code"] == 200
    assert run.context.trace_id == server.context.trace_id  # one trace, through the bus
    assert run.parent.span_id == server.context.span_id
    assert run.attributes["messaging.destination.name"] == subject


async def test_sampling_off_records_new_traces_never_but_follows_a_sampled_parent(
    tmp_path, monkeypatch
):
    bus = bus_config("local", tmp_path)
    async with traced_app(tmp_path, monkeypatch, bus, sample_ratio=0.0) as (app, _subject):
        async with http_client(app) as client:
            await client.get("/items/1")
            await client.get("/items/2", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
        spans = app.extensions["tracing"].finished_spans()
    assert [format(s.context.trace_id, "032x") for s in spans] == [TRACE_ID]


async def test_schedule_fires_and_opt_in_db_statements_get_spans(tmp_path):
    from mega.plugins.schedule import Schedule
    from mega.testing import fire_schedule

    class Report(Schedule):
        cron = "0 0 1 1 *"

        async def run(self, ctx):
            return await ctx.db().fetch_val("SELECT 40 + 2")

    config = {
        "app": {"plugins": ["schedule", "db", "sqlite", "tracing"], "name": "reports"},
        "plugins": {
            "schedule": {"start": False},
            "tracing": {"exporter": "memory", "db_queries": True},
        },
        "adapters": {"db": {"default": {"driver": "sqlite", "path": str(tmp_path / "r.db")}}},
    }
    async with boot_app(config, environ={}) as app:
        app.extensions["schedule"].add(Report)
        event = await fire_schedule(app, Report)
        assert (event.name, event.result) == ("done", 42)
        spans = {s.name: s for s in app.extensions["tracing"].finished_spans()}
    fire, query = spans["schedule Report"], spans["SELECT default"]
    assert query.parent.span_id == fire.context.span_id  # the statement ran inside the fire
    assert query.attributes["db.query.text"] == "SELECT 40 + 2"
    assert query.attributes["db.system.name"] == "sqlite"


@pytest.mark.parametrize(("version", "expected"), [("4.2.0", "4.2.0"), (None, None)])
async def test_spans_carry_the_apps_version_not_megas(tmp_path, version, expected):
    app_table = {"plugins": ["tracing"], "name": "shop"}
    if version is not None:
        app_table["version"] = version
    config = {"app": app_table, "plugins": {"tracing": {"exporter": "memory"}}}
    async with boot_app(config, root=tmp_path, environ={}) as app:
        resource = app.extensions["tracing"].provider.resource
    assert resource.attributes.get("service.version") == expected
    assert resource.attributes["service.name"] == "shop"
