"""What a scrape says about the process itself, and which requests it counts: ``target_info``
(the service's resource attributes), the uptime gauge, and requests refused before routing."""

from __future__ import annotations

import asyncio
import time

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from mega import __version__
from mega.testing import boot_app, http_client

CONTROLLER = """
from mega.plugins.http import HttpCtx


class NotesController:
    async def create(self, ctx: HttpCtx) -> dict:
        return {"size": len(await ctx.request.body())}
"""
ROUTES = """
from mega.plugins.http import post
from apps.main.controllers.notes import NotesController

routes = [post("/notes", NotesController.create, name="notes.create", csrf=False)]
"""
FILES = {"apps/main/controllers/notes.py": CONTROLLER, "apps/main/routes/notes.py": ROUTES}


def families(text: str, parser=parse_text) -> dict[str, object]:
    return {family.name: family for family in parser(text)}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse_text(text)
        for s in family.samples
    }


async def test_target_info_carries_the_service_attributes_in_both_formats():
    config = {
        "app": {"plugins": ["http", "metrics"], "name": "shop", "env": "production",
                "version": "2.3.1"},
    }  # fmt: skip
    async with boot_app(config, environ={}) as app:
        async with http_client(app) as client:
            text = (await client.get("/metrics")).text
            om = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    labels = {
        "service_name": "shop",
        "service_version": "2.3.1",
        "deployment_environment_name": "production",
    }
    # Prometheus text has no info type: a gauge named target_info, always 1
    gauge = families(text)["target_info"]
    assert gauge.type == "gauge"
    assert [(s.name, s.labels, s.value) for s in gauge.samples] == [("target_info", labels, 1)]
    # OpenMetrics: the info family "target", its one sample target_info
    info = families(om.text, parse_om)["target"]
    assert info.type == "info"
    assert [(s.name, s.labels, s.value) for s in info.samples] == [("target_info", labels, 1)]


async def test_service_version_defaults_to_the_project_distribution_not_megas(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "4.5.6"\n')
    config = {"app": {"plugins": ["http", "metrics"], "name": "shop"}}
    async with boot_app(config, root=tmp_path, environ={}) as app:
        text = await app.extensions["metrics"].scrape()
    [info] = families(text)["target_info"].samples
    assert info.labels["service_version"] == "4.5.6"
    assert __version__ != "4.5.6"


async def test_without_a_known_version_target_info_has_no_service_version():
    async with boot_app({"app": {"plugins": ["http", "metrics"]}}, environ={}) as app:
        text = await app.extensions["metrics"].scrape()
    [info] = families(text)["target_info"].samples
    assert "service_version" not in info.labels  # never mega's own version
    assert info.labels["service_name"] == "app"


async def test_process_uptime_grows_between_scrapes():
    async with boot_app({"app": {"plugins": ["http", "metrics"]}}, environ={}) as app:
        first = samples(await app.extensions["metrics"].scrape())
        await asyncio.sleep(0.05)
        second = samples(await app.extensions["metrics"].scrape())
    uptime = ("process_uptime_seconds", ())
    assert 0 < first[uptime] < second[uptime]
    # a monotonic clock: the gauge grew by at least the time slept between the scrapes
    assert second[uptime] - first[uptime] >= 0.05
    # and it counts from no earlier than the process start the scrape reports beside it
    started = second[("process_start_time_seconds", ())]
    assert second[uptime] <= time.time() - started


async def test_bodies_refused_with_413_are_counted_under_their_route(http_project):
    """Refused up front (content-length over the limit) or while streaming: both are routed
    requests answered 4xx, and the counter says so."""

    async def streamed():
        for _ in range(3):
            yield b"x" * 1_048_576

    async with http_project(FILES, plugins=("http", "metrics")) as (_app, client):
        assert (await client.post("/notes", content=b"x" * 2_000_000)).status_code == 413
        assert (await client.post("/notes", content=streamed())).status_code == 413
        assert (await client.post("/notes", content=b"small")).status_code == 200
        assert (await client.post("/nowhere", content=b"x" * 2_000_000)).status_code == 413
        got = samples((await client.get("/metrics")).text)
    route = (("method", "POST"), ("route", "/notes"))
    assert got[("mega_http_requests_total", (*route, ("status", "4xx")))] == 2
    assert got[("mega_http_requests_total", (*route, ("status", "2xx")))] == 1
    assert got[("mega_http_request_seconds_count", route)] == 3
    # a path no route matches is not a routed request (as for a 404): no series for it
    assert not [key for key in got if ("route", "/nowhere") in key[1]]


def test_attribute_keys_become_label_names_by_the_opentelemetry_rule():
    from mega.plugins.metrics.resource import target_info

    family = target_info({"k8s.pod--name": "p", "1st": "y", "a.b": "1", "a_b": "2"})
    [(labels, value)] = family.samples
    assert value == 1
    # a colliding pair joins its values with ';' in the order of the original keys
    assert labels == {"k8s_pod_name": "p", "key_1st": "y", "a_b": "1;2"}
