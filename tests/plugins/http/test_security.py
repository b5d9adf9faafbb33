"""Sessions (signed cookie), CORS and trusted hosts."""

from __future__ import annotations

import pytest

from mega import MegaConfigError

CONTROLLER = """
from mega.plugins.http import HttpCtx


class Counter:
    async def bump(self, ctx: HttpCtx) -> int:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        return ctx.session["n"]

    async def token(self, ctx: HttpCtx) -> str:
        return ctx.csrf_token

    async def login(self, ctx: HttpCtx) -> str:
        ctx.session.rotate()
        ctx.session["user"] = "ada"
        return ctx.session.id or "cookie-store"

    async def whoami(self, ctx: HttpCtx) -> dict:
        return {"user": ctx.session.get("user"), "id": ctx.session.id}
"""
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.counter import Counter

routes = [post("/bump", Counter.bump, name="bump"),
          post("/open-bump", Counter.bump, name="open-bump", csrf=False),
          get("/token", Counter.token, name="token"),
          post("/login", Counter.login, name="login"),
          get("/whoami", Counter.whoami, name="whoami")]
"""
FILES = {"apps/main/controllers/counter.py": CONTROLLER, "apps/main/routes/r.py": ROUTES}
SECRET = "s" * 40
COOKIE = {"session": {"secret_key": SECRET}}


async def token(client):
    return (await client.get("/token")).json()["data"]


async def test_the_cookie_session_survives_requests_and_a_tampered_cookie_starts_afresh(
    http_project,
):
    async with http_project(FILES, COOKIE) as (_, client):
        assert (await client.post("/bump")).json()["data"] == 1  # no cookie yet: no CSRF check
        headers = {"x-csrf-token": await token(client)}
        assert (await client.post("/bump", headers=headers)).json()["data"] == 2
        cookie = client.cookies["mega_session"]
        client.cookies.clear()
        client.cookies.set("mega_session", cookie[:-4] + "AAAA")
        tampered = await client.post("/open-bump")
    assert tampered.status_code == 200 and tampered.json()["data"] == 1


async def test_unsafe_requests_with_the_session_cookie_need_the_csrf_token(http_project):
    async with http_project(FILES, COOKIE) as (_, client):
        csrf = await token(client)
        refused = await client.post("/bump")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf.invalid"
        wrong = await client.post("/bump", headers={"x-csrf-token": "forged"})
        assert wrong.status_code == 403
        by_header = await client.post("/bump", headers={"x-csrf-token": csrf})
        assert by_header.status_code == 200
        by_form = await client.post("/bump", data={"csrf_token": csrf})
        assert by_form.status_code == 200
        exempt = await client.post("/open-bump")
        assert exempt.status_code == 200


async def test_the_server_store_keeps_only_an_id_in_the_cookie_and_rotates_on_login(
    http_project,
):
    settings = {"session": {"secret_key": SECRET, "store": "server"}}
    async with http_project(
        FILES,
        settings,
        plugins=("http", "memory"),
        adapters={"session": {"default": {"driver": "memory"}}},
    ) as (app, client):
        await client.post("/open-bump")  # a session is stored once something is written to it
        before = (await client.get("/whoami")).json()["data"]["id"]
        assert "ada" not in client.cookies["mega_session"]
        csrf = await token(client)
        new_id = (await client.post("/login", headers={"x-csrf-token": csrf})).json()["data"]
        assert new_id != before
        assert (await client.get("/whoami")).json()["data"] == {"user": "ada", "id": new_id}
        store = app.ctx().adapter("session")
        assert await store.get(f"session:{before}") is None  # the pre-login id is gone
        assert (await store.get(f"session:{new_id}"))["d"]["user"] == "ada"


@pytest.mark.parametrize("limit", ["idle_timeout_s", "absolute_timeout_s"])
async def test_an_expired_session_starts_afresh(http_project, limit):
    import asyncio

    async with http_project(FILES, {"session": {"secret_key": SECRET, limit: 1}}) as (_, client):
        await client.post("/open-bump")
        assert (await client.post("/open-bump")).json()["data"] == 2
        await asyncio.sleep(1.3)
        assert (await client.post("/open-bump")).json()["data"] == 1


async def test_sessions_on_redis_survive_across_app_instances(http_project):
    import uuid

    from mega.testing.services import require

    require("redis")
    prefix = f"mega-test:{uuid.uuid4().hex[:10]}:"
    settings = {"session": {"secret_key": SECRET, "store": "server"}}
    adapters = {"session": {"default": {"driver": "redis", "key_prefix": prefix}}}
    async with http_project(FILES, settings, plugins=("http", "redis"), adapters=adapters) as (
        _,
        first,
    ):
        await first.post("/open-bump")
        cookie = first.cookies["mega_session"]
    async with http_project(FILES, settings, plugins=("http", "redis"), adapters=adapters) as (
        app,
        second,
    ):
        second.cookies.set("mega_session", cookie)
        assert (await second.post("/open-bump")).json()["data"] == 2
        client = app.ctx().adapter("session")._client
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 1
        await client.delete(*keys)


async def test_without_a_secret_the_session_is_off_and_says_how_to_turn_it_on(http_project):
    # a 5xx says how to fix it to the developer (debug, and the log), never to every client
    async with http_project(FILES, debug=True) as (_, client):
        response = await client.post("/bump")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "http.session_off"
    assert (
        "MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY" in response.json()["error"]["details"]["error"]
    )


async def test_a_short_session_secret_is_refused_at_boot(http_project):
    with pytest.raises(MegaConfigError) as err:
        async with http_project(FILES, {"session": {"secret_key": "short"}}):
            pass
    assert err.value.details["key"] == "plugins.http.session.secret_key"


async def test_cors_answers_preflight_for_allowed_origins_only(http_project):
    cors = {"cors": {"allow_origins": ["https://app.example"], "allow_headers": ["content-type"]}}
    async with http_project(FILES, cors) as (_, client):
        allowed = await client.options(
            "/bump",
            headers={"origin": "https://app.example", "access-control-request-method": "POST"},
        )
        denied = await client.options(
            "/bump",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in denied.headers


async def test_untrusted_hosts_are_refused(http_project):
    async with http_project(FILES, {"trusted_hosts": ["api.example"]}) as (app, _):
        from mega.testing import http_client

        async with http_client(app, base_url="http://api.example") as good:
            assert (await good.post("/bump")).status_code == 500  # reached the handler
        async with http_client(app, base_url="http://other.example") as bad:
            assert (await bad.post("/bump")).status_code == 400
