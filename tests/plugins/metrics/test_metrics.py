"""The metrics plugin: registry semantics, the cardinality cap, exposition checked by the
reference parser, and real job/schedule/scrape traffic through a booted app."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from mega import MegaConfigError
from mega.plugins.jobs import Backoff, Job
from mega.plugins.metrics import MetricsRegistry, render, snapshot
from mega.plugins.schedule import Schedule
from mega.testing import boot_app, fire_schedule, http_client


def samples(text: str, parser=parse_text) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in parser(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_counters_gauges_histograms_render_as_the_parsers_read_them():
    reg = MetricsRegistry()
    requests = reg.counter("http_requests", "Requests.", ["method", "route"])
    requests.labels("GET", '/a/"{id}"').inc()
    requests.labels("GET", '/a/"{id}"').inc(2)
    reg.gauge("queue_depth", "Depth.").set(7)
    latency = reg.histogram("latency_seconds", "Latency.", buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 0.5, 3.0):
        latency.observe(value)
    for parser, om in ((parse_text, False), (parse_om, True)):
        got = samples(render(snapshot(list(reg.metrics.values())), openmetrics=om), parser)
        assert got[("http_requests_total", (("method", "GET"), ("route", '/a/"{id}"')))] == 3
        assert got[("queue_depth", ())] == 7
        assert got[("latency_seconds_bucket", (("le", "0.1"),))] == 1
        assert got[("latency_seconds_bucket", (("le", "1.0"),))] == 3
        assert got[("latency_seconds_bucket", (("le", "+Inf"),))] == 4
        assert got[("latency_seconds_count", ())] == 4
        assert got[("latency_seconds_sum", ())] == pytest.approx(4.05)


def test_series_past_the_cap_share_one_overflow_series():
    reg = MetricsRegistry(max_series=3)
    hits = reg.counter("hits", "Hits.", ["path"])
    for i in range(10):
        hits.labels(f"/raw/{i}").inc()
    got = samples(render(snapshot([hits])))
    assert len(got) == 4  # three real series and the overflow one
    assert got[("hits_total", (("overflow", "true"), ("path", "")))] == 7
    assert sum(got.values()) == 10  # nothing counted is lost


def test_registry_refuses_conflicts_and_bad_names():
    reg = MetricsRegistry()
    assert reg.counter("orders", "Orders.", ["kind"]) is reg.counter("orders", "x", ["kind"])
    with pytest.raises(MegaConfigError) as caught:
        reg.gauge("orders", "Orders.")
    assert caught.value.code == "metrics.conflict"
    with pytest.raises(MegaConfigError) as caught:
        reg.counter("2fast", "x")
    assert caught.value.code == "metrics.invalid_name"
    with pytest.raises(MegaConfigError) as caught:
        reg.counter("ok", "x", ["overflow"])
    assert caught.value.code == "metrics.invalid_label"
    with pytest.raises(MegaConfigError) as caught:
        reg.counter("two", "x", ["a", "b"]).labels("only-one")
    assert caught.value.code == "metrics.wrong_labels"


class Charge(Job):
    subject = "metrics.charge"
    retries = 1
    backoff = Backoff(initial_ms=1, max_ms=1, jitter=False)

    async def run(self, payload, ctx):
        if payload["fail"]:
            raise ValueError("declined")
        ctx.metrics.counter("charges", "Charges made.", ["currency"]).labels("EUR").inc()
        return payload


class Tick(Schedule):
    cron = "0 0 1 1 *"

    async def run(self, ctx):
        return "ticked"


async def until(condition, within=10.0):
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_jobs_schedules_and_user_metrics_show_up_on_the_scrape(tmp_path):
    config = {
        "app": {"plugins": ["http", "metrics", "jobs", "schedule"], "name": "metricsapp"},
        "plugins": {"schedule": {"start": False}},
        "adapters": {
            "bus": {"default": {"driver": "local", "path": str(tmp_path / "jobs.sqlite3")}}
        },
    }
    async with boot_app(config, environ={}) as app:
        jobs = app.ctx().jobs
        jobs.add(Charge)
        app.extensions["schedule"].add(Tick)
        dead = []
        jobs.events.on("dlq", dead.append)
        await jobs.enqueue(Charge, {"fail": False})
        await jobs.enqueue(Charge, {"fail": True})
        await jobs.start()
        await until(lambda: dead)
        await asyncio.sleep(0.1)
        assert (await fire_schedule(app, Tick)).name == "done"
        async with http_client(app) as client:
            await client.get("/metrics")
            await client.post("/metrics")  # 405: still the route template, a 4xx
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        got = samples(response.text)
    subject = (("subject", "metrics.charge"),)
    assert got[("mega_jobs_enqueued_total", subject)] == 2
    assert got[("mega_jobs_started_total", subject)] == 2
    assert got[("mega_jobs_done_total", subject)] == 1
    assert got[("mega_jobs_retried_total", subject)] == 1
    assert got[("mega_jobs_failed_total", (("phase", "run"), *subject))] == 1
    assert got[("mega_jobs_dead_lettered_total", subject)] == 1
    assert got[("mega_job_run_seconds_count", subject)] == 1
    assert got[("mega_job_queue_lag_seconds_count", subject)] == 2
    assert 0 <= got[("mega_job_queue_lag_seconds_sum", subject)] < 10
    assert got[("charges_total", (("currency", "EUR"),))] == 1
    assert got[("mega_schedule_fired_total", (("schedule", "Tick"),))] == 1
    assert got[("mega_schedule_done_total", (("schedule", "Tick"),))] == 1
    route = (("method", "GET"), ("route", "/metrics"))
    assert got[("mega_http_requests_total", (*route, ("status", "2xx")))] == 1  # before this one
    assert got[("mega_http_requests_total", (("method", "POST"), ("route", "/metrics"),
                                             ("status", "4xx")))] == 1  # fmt: skip
    assert got[("mega_http_request_seconds_count", route)] == 1
    assert got[("process_resident_memory_bytes", ())] > 1_000_000
    assert ("python_gc_collections_total", (("generation", "0"),)) in got


async def test_openmetrics_and_gzip_are_negotiated():
    config = {"app": {"plugins": ["http", "metrics"], "name": "om"}}
    async with boot_app(config, environ={}) as app:
        app.ctx().metrics.counter("pings", "Pings.").inc()
        async with http_client(app) as client:
            response = await client.get(
                "/metrics",
                headers={"accept": "application/openmetrics-text", "accept-encoding": "gzip"},
            )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.headers["content-encoding"] == "gzip"
    text = response.text  # httpx undid the gzip the header announces
    assert text.rstrip().endswith("# EOF")
    assert samples(text, parse_om)[("pings_total", ())] == 1


@pytest.mark.parametrize("driver", ["sqlite", "postgres"])
async def test_db_pool_gauges_count_busy_and_idle_connections(driver, tmp_path):
    if driver == "sqlite":
        adapter = {"driver": "sqlite", "path": str(tmp_path / "p.db"), "pool_size": 3}
    else:
        from mega.testing.services import require

        require("postgres")
        adapter = {"driver": "postgres", "pool_min": 2, "pool_max": 2}
    config = {
        "app": {"plugins": ["http", "metrics", driver], "name": "pools"},
        "adapters": {"db": {"main": adapter}},
    }
    async with boot_app(config, environ={}) as app:
        db = app.ctx().db("main")
        async with db.transaction():  # holds one connection while scraping
            await db.fetch_val("SELECT 1")
            text = await app.extensions["metrics"].scrape()
    got = samples(text)
    size = 3 if driver == "sqlite" else 2
    assert got[("mega_db_pool_connections", (("alias", "main"), ("state", "busy")))] == 1
    assert got[("mega_db_pool_connections", (("alias", "main"), ("state", "idle")))] == size - 1


async def test_requests_keep_being_served_while_a_big_scrape_renders():
    """The text is rendered in a worker thread: requests complete while a scrape of thousands
    of series is under way (were it rendered on the loop, none could until it ended)."""
    async with boot_app({"app": {"plugins": ["http", "metrics"]}}, environ={}) as app:
        histogram = app.ctx().metrics.histogram("big_seconds", "Big.", ["route", "method"])
        for i in range(2_000):
            histogram.labels(f"/r/{i}", "GET").observe(0.01 * (i % 7))
        async with http_client(app) as client:
            await client.get("/metrics")  # warm
            for _ in range(5):  # the interleaving, not its timing, is the claim: retry a few
                scrape = asyncio.ensure_future(client.get("/metrics"))
                served_during = 0
                while True:
                    # an in-process request never suspends: give the scrape its turn first (a
                    # render on the loop would finish the scrape right here)
                    await asyncio.sleep(0)
                    if scrape.done():
                        break
                    response = await client.get("/nowhere")  # any routed answer will do
                    assert response.status_code == 404
                    if not scrape.done():
                        served_during += 1
                text = (await scrape).text
                assert text.count("big_seconds_count{") == 2_000
                if served_during:
                    break
            assert served_during > 0


async def test_duplicate_enqueues_are_counted_apart_from_stored_jobs(tmp_path):
    config = {
        "app": {"plugins": ["http", "metrics", "jobs"]},
        "adapters": {
            "bus": {"default": {"driver": "local", "path": str(tmp_path / "jobs.sqlite3")}}
        },
    }
    async with boot_app(config, environ={}) as app:
        jobs = app.ctx().jobs
        jobs.add(Charge)
        first = await jobs.enqueue(Charge, {"fail": False}, msg_id="order-1")
        again = await jobs.enqueue(Charge, {"fail": False}, msg_id="order-1")
        await jobs.enqueue(Charge, {"fail": False}, msg_id="order-2")
        assert (first.duplicate, again.duplicate) == (False, True)
        got = samples(await app.extensions["metrics"].scrape())
    subject = (("subject", "metrics.charge"),)
    assert got[("mega_jobs_enqueued_total", subject)] == 2  # stored
    assert got[("mega_jobs_duplicates_total", subject)] == 1  # not stored
