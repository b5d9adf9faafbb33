"""Back-pressure answers: a 429 says when to come back, and a backend that is down (a private
redis-server, stopped and started here) answers 503 with Retry-After, then recovers."""

from __future__ import annotations

CONTROLLER = """
from starlette.responses import Response

from mega import MegaError
from mega.plugins.http import HttpCtx


class Pages:
    async def locked(self, ctx: HttpCtx):
        raise MegaError("demo.locked", "slow down", {"retry_after_s": 30}, http_status=429)

    async def plain(self, ctx: HttpCtx):
        return Response("busy", status_code=429)

    async def remember(self, ctx: HttpCtx) -> int:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        return ctx.session["n"]

    async def count(self, ctx: HttpCtx) -> int:
        return await ctx.cache().incr("hits")
"""
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.pages import Pages

routes = [get("/locked", Pages.locked, name="locked"),
          get("/plain", Pages.plain, name="plain"),
          post("/remember", Pages.remember, name="remember", csrf=False),
          get("/count", Pages.count, name="count")]
"""
FILES = {"apps/main/controllers/pages.py": CONTROLLER, "apps/main/routes/r.py": ROUTES}


async def test_a_429_carries_retry_after(http_project):
    async with http_project(FILES, {"retry_after_s": 7}) as (_, client):
        locked = await client.get("/locked")
        # before: no Retry-After at all
        assert (locked.status_code, locked.headers["retry-after"]) == (429, "30")
        plain = await client.get("/plain")  # names no wait: the configured default
        assert (plain.status_code, plain.headers["retry-after"]) == (429, "7")


async def test_a_session_store_that_is_down_answers_503_then_recovers(http_project, own_redis):
    settings = {"session": {"secret_key": "s" * 40, "store": "server"}}
    adapters = {"session": {"default": {"driver": "redis", "url": own_redis.url}}}
    async with http_project(FILES, settings, plugins=("http", "redis"), adapters=adapters) as (
        _,
        client,
    ):
        assert (await client.post("/remember")).json()["data"] == 1
        own_redis.stop()
        down = await client.post("/remember")
        # before: 500 internal.error
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "store.unavailable"
        assert down.headers["retry-after"] == "5"
        own_redis.start()  # same port, empty: the old session is gone, a new one starts
        client.cookies.clear()
        assert (await client.post("/remember")).json()["data"] == 1


async def test_a_cache_that_is_down_answers_503_then_recovers(http_project, own_redis):
    adapters = {"cache": {"default": {"driver": "redis", "url": own_redis.url}}}
    async with http_project(FILES, {}, plugins=("http", "redis"), adapters=adapters) as (
        _,
        client,
    ):
        assert (await client.get("/count")).json()["data"] == 1
        own_redis.stop()
        down = await client.get("/count")
        assert down.status_code == 503  # before: 500
        assert down.json()["error"]["code"] == "store.unavailable"
        assert "retry-after" in down.headers
        own_redis.start()
        assert (await client.get("/count")).json()["data"] == 1


async def test_a_session_store_that_fails_otherwise_answers_503_session_unavailable(
    http_project, tmp_path
):
    import shutil

    store = tmp_path / "sessions"
    settings = {"session": {"secret_key": "s" * 40, "store": "server"}}
    adapters = {"session": {"default": {"driver": "file", "path": str(store)}}}
    async with http_project(FILES, settings, plugins=("http", "file"), adapters=adapters) as (
        _,
        client,
    ):
        assert (await client.post("/remember")).json()["data"] == 1
        shutil.rmtree(store)  # the store's volume went away
        down = await client.post("/remember")
        assert (down.status_code, down.json()["error"]["code"]) == (503, "session.unavailable")
        assert down.headers["retry-after"] == "5"
        store.mkdir()
        assert (await client.post("/remember")).status_code == 200
