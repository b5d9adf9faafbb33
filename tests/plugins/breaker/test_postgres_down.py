"""A private PostgreSQL stopped and restarted under a db adapter with a breaker attached by config:
while it is down the breaker opens and every query is refused at once (503) instead of each
trying the server; once it is back, the half-open probe goes through and the breaker closes."""

from __future__ import annotations

import asyncio
import time

import pytest

from mega import MegaError
from mega.plugins.breaker import CLOSED, OPEN, BreakerOpen, breakers
from mega.testing import boot_app


async def test_a_stopped_postgres_behind_a_config_breaker_fails_fast_and_recovers(own_postgres):
    config = {
        "app": {"plugins": ["db", "postgres", "breaker"]},
        "adapters": {
            "db": {"default": {"driver": "postgres", "dsn": own_postgres.url, "breaker": "pg"}}
        },
        "plugins": {"breaker": {"pg": {"consecutive_failures": 2, "open_ms": 500}}},
    }
    async with boot_app(config, environ={}) as app:
        db, breaker = app.ctx().db(), breakers(app).get("pg")
        assert await db.fetch_val("SELECT 40 + 2") == 42

        own_postgres.stop()
        for _ in range(2):
            with pytest.raises(MegaError) as down:
                await db.fetch_val("SELECT 1")
            assert not isinstance(down.value, BreakerOpen)  # the driver's own error, counted
        assert breaker.state == OPEN
        with pytest.raises(BreakerOpen) as refused:  # refused without touching the network
            await db.fetch_val("SELECT 1")
        assert refused.value.http_status == 503

        own_postgres.start()
        await asyncio.sleep(0.6)
        deadline = time.monotonic() + 10
        while True:  # the pool may hand out a connection the restart broke: one probe fails
            try:
                assert await db.fetch_val("SELECT 7") == 7
                break
            except MegaError:
                assert time.monotonic() < deadline, "the breaker never closed again"
                await asyncio.sleep(0.6)
        assert breaker.state == CLOSED
