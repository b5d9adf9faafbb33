"""The plugin: definitions validated at boot, breakers(ctx), events, metrics, readiness, 503."""

from __future__ import annotations

import pytest

from mega import MegaConfigError, MegaNotFoundError
from mega.plugins.breaker import EVENTS, OPEN, BreakerOpen, BreakerOptions, Breakers, breakers
from mega.testing import boot_app, http_client

PAYMENTS = {"payments": {"consecutive_failures": 2, "open_ms": 60_000}}


def config(*plugins: str, **tables: object) -> dict[str, object]:
    return {
        "app": {"plugins": ["breaker", *plugins]},
        "plugins": {"breaker": tables or PAYMENTS},
    }


async def test_definitions_become_breakers_reachable_from_ctx():
    async with boot_app(config(), environ={}) as app:
        found = breakers(app.ctx())
        assert found is app.extensions["breaker"]
        payments = found.get("payments")
        assert payments is found.get("payments")
        assert payments.options.open_s == 60 and payments.options.consecutive_failures == 2
        assert found.get("payments", key="acme") is not payments
        with pytest.raises(MegaNotFoundError) as unknown:
            found.get("payment")
    assert unknown.value.code == "breaker.unknown"
    assert "payments" in unknown.value.message


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"redis": {"failure_ratio": 1.5}}, "redis.failure_ratio"),
        ({"redis": {"open_msx": 1}}, "redis.open_msx"),
        ({"redis": {"min_calls": 0}}, "redis.min_calls"),
        ({"redis": 3}, "redis"),
    ],
    ids=["ratio", "unknown-key", "min-calls", "not-a-table"],
)
async def test_a_bad_definition_stops_the_boot_naming_the_key(table, path):
    with pytest.raises(MegaConfigError) as refused:
        async with boot_app(config(**table), environ={}):
            pass
    assert path in str(refused.value)


async def test_state_changes_and_rejections_are_events():
    clock = [0.0]
    options = BreakerOptions(consecutive_failures=1, open_s=5)
    found = Breakers({"dep": options}, clock=lambda: clock[0])
    seen: list[tuple[str, object, str]] = []
    for name in EVENTS:
        found.events.on(name, lambda e: seen.append((e.name, e.key, e.state)))
    breaker = found.get("dep", key="k")
    breaker.failure("boom")
    with pytest.raises(BreakerOpen):
        breaker.admit()
    clock[0] = 5
    breaker.success(breaker.admit())
    assert seen == [
        ("open", "k", "open"),
        ("reject", "k", "open"),
        ("half_open", "k", "half_open"),
        ("close", "k", "closed"),
    ]
    with pytest.raises(MegaConfigError) as typo:
        found.events.on("opened", print)
    assert typo.value.code == "events.unknown"


async def test_metrics_show_the_state_gauge_and_rejections():
    async with boot_app(config("metrics"), environ={}) as app:
        breaker = breakers(app).get("payments")
        breaker.failure("x")
        breaker.failure("x")
        assert breaker.state == OPEN
        for _ in range(3):
            with pytest.raises(BreakerOpen):
                breaker.admit()
        text = await app.extensions["metrics"].scrape()
    assert 'mega_breaker_state{breaker="payments",key=""} 2' in text
    assert 'mega_breaker_rejections_total{breaker="payments",key=""} 3' in text


ROUTE = """
from mega.plugins.breaker import breakers
from mega.plugins.http import get

async def pay(ctx):
    async with breakers(ctx).get("payments"):
        return {"paid": True}

@hookimpl
def mega_http_routes(app):
    return [get("/pay", pay, name="pay")]
"""


async def test_an_open_breaker_answers_503_with_retry_after_and_fails_readiness(site):
    site.plugin("shop", ROUTE, requires="('http', 'breaker')")
    cfg = config("http", "health", "shop")
    cfg["plugins"] = {"breaker": {"payments": {"consecutive_failures": 1, "readiness": True}}}
    async with boot_app(cfg, environ={}) as app:
        async with http_client(app) as client:
            assert (await client.get("/pay")).json()["data"] == {"paid": True}
            assert (await client.get("/health/ready")).status_code == 200
            breakers(app).get("payments").failure("gateway down")
            refused = await client.get("/pay")
            ready = await client.get("/health/ready")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert refused.json()["error"]["code"] == "breaker.open"
    assert "request_id" in refused.json()["error"]["details"]  # a 5xx keeps details in the log
    assert ready.status_code == 503
    assert "payments" in ready.json()["checks"]["breaker"]["error"]
