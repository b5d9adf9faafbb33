"""Liveness, readiness and startup: per-dependency checks, timeouts, 503 during shutdown."""

from __future__ import annotations

import asyncio

import pytest

from mega.testing import boot_app, http_client


def config(tmp_path, *plugins, **adapters):
    return {
        "app": {"plugins": ["http", "health", "memory", "sqlite", *plugins]},
        "plugins": {"health": {"check_timeout_ms": 300}},
        "adapters": {
            "cache": {"default": {"driver": "memory"}},
            "lock": {"default": {"driver": "sqlite", "path": str(tmp_path / "l.db")}},
            **adapters,
        },
    }


async def test_ready_reports_every_adapter(tmp_path):
    async with boot_app(config(tmp_path), environ={}) as app:
        async with http_client(app) as client:
            live = await client.get("/health/live")
            startup = await client.get("/health/startup")
            ready = await client.get("/health/ready")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert startup.status_code == 200
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"cache.default", "lock.default"}
    assert body["checks"]["cache.default"]["detail"] == {"entries": 0}
    assert body["checks"]["lock.default"]["status"] == "ok"
    assert ready.headers["cache-control"] == "no-store"


CHECKS = """
import asyncio

def broken():
    raise RuntimeError("queue backlog too deep")

async def slow():
    await asyncio.sleep(5)

@hookimpl
def mega_health_checks(app):
    return {"backlog": broken, "upstream": slow}
"""


async def test_a_failing_or_slow_contributed_check_makes_ready_503(site, tmp_path):
    site.plugin("checks", CHECKS)
    async with boot_app(config(tmp_path, "checks"), environ={}) as app:
        async with http_client(app) as client:
            ready = await client.get("/health/ready")
            live = await client.get("/health/live")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["backlog"] == {
        "status": "fail",
        "error": "RuntimeError: queue backlog too deep",
        "duration_ms": checks["backlog"]["duration_ms"],
    }
    assert checks["upstream"]["error"] == "no answer within 300 ms"
    assert checks["lock.default"]["status"] == "ok"
    assert live.status_code == 200  # liveness does not depend on dependencies


async def test_a_redis_that_went_away_fails_readiness(tmp_path, own_redis):
    adapters = {
        "session": {"default": {"driver": "redis", "url": own_redis.url, "timeout_ms": 200}}
    }
    async with boot_app(config(tmp_path, "redis", **adapters), environ={}) as app:
        async with http_client(app) as client:
            assert (await client.get("/health/ready")).status_code == 200
            own_redis.stop()
            ready = await client.get("/health/ready")
            own_redis.start()
    assert ready.status_code == 503
    assert ready.json()["checks"]["session.default"]["status"] == "fail"


SLOW_SHUTDOWN = """
import asyncio

@hookimpl
async def mega_before_shutdown(app):
    await asyncio.sleep(0.5)
"""


async def test_ready_turns_503_the_moment_shutdown_starts(site, tmp_path):
    site.plugin("slowstop", SLOW_SHUTDOWN)
    async with boot_app(config(tmp_path, "slowstop"), environ={}) as app:
        client = http_client(app)
        assert (await client.get("/health/ready")).status_code == 200
        stopping = asyncio.create_task(app.shutdown())
        await asyncio.sleep(0.05)
        during = await client.get("/health/ready")
        live_during = await client.get("/health/live")
        await stopping
        await client.aclose()
    assert during.status_code == 503
    assert during.json() == {"status": "fail", "phase": "stopping", "reason": "shutting down"}
    assert live_during.status_code == 200


async def test_ready_is_503_once_a_signal_starts_shutdown_while_requests_still_drain(tmp_path):
    async with boot_app(config(tmp_path), environ={}) as app:
        client = http_client(app)
        app.begin_shutdown()  # the server got SIGTERM and is draining its requests
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
        await client.aclose()
    assert ready.status_code == 503
    assert ready.json() == {"status": "fail", "phase": "draining", "reason": "shutting down"}
    assert live.status_code == 200


def test_health_needs_the_http_plugin():
    from mega import App, MegaConfigError

    with pytest.raises(MegaConfigError) as err:
        App.from_dict({"app": {"plugins": ["health"]}}, environ={})
    assert err.value.code == "plugin.missing_requirement"
    assert "plugin 'health' requires 'http'" in err.value.message


async def test_the_openapi_document_describes_what_each_probe_answers(tmp_path):
    import jsonschema_rs  # schemathesis's validator (the dev extra)

    async with boot_app(config(tmp_path), environ={}) as app:
        async with http_client(app) as client:
            doc = (await client.get("/openapi.json")).json()
            bodies = {p: await client.get(f"/health/{p}") for p in ("live", "ready", "startup")}
    for probe, response in bodies.items():
        answers = doc["paths"][f"/health/{probe}"]["get"]["responses"]
        schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
        document = {**schema, "components": doc["components"]}
        jsonschema_rs.Draft202012Validator(document).validate(response.json())
    assert set(doc["paths"]["/health/ready"]["get"]["responses"]) >= {"200", "503"}
