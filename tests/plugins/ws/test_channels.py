"""Channels on one node: the envelope, replies, fan-out, and every bad input the server meets."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from mega.testing import WsReplyError, ws_connect


async def test_join_reply_and_broadcast_reach_every_member(ws_app):
    async with ws_app() as (app, url), ws_connect(url) as ada, ws_connect(url) as bob:
        assert await ada.join("room:1") == {"id": "1", "identity": None}
        await bob.join("room:1")
        assert await bob.push("room:1", "say", {"text": "hi"}) == {"ok": True}
        for client in (ada, bob):
            frame = await client.receive(type="event", event="said")
            assert frame == {"type": "event", "topic": "room:1", "event": "said",
                             "payload": {"text": "hi"}}  # fmt: skip
        # broadcast_from skips the sender; a None result still answers the ref with {}
        assert await ada.push("room:1", "shout", {"n": 1}) == {}
        assert (await bob.receive(event="shouted"))["payload"] == {"n": 1}
        with pytest.raises(TimeoutError):
            await ada.receive(event="shouted", timeout=0.3)
        # ctx.push reaches only the caller; ctx.reply answers before the return value would
        assert await ada.push("room:1", "whisper", {"s": 1}) == {"early": True}
        assert (await ada.receive(event="whispered"))["payload"] == {"s": 1}
        with pytest.raises(TimeoutError):
            await bob.receive(event="whispered", timeout=0.3)
        # a server-side broadcast (from a handler or a job) through ctx.ws
        assert await app.ctx().ws.broadcast("room:1", "notice", {"x": 1}) == 2
        assert (await bob.receive(event="notice"))["payload"] == {"x": 1}
        # a member who left gets nothing more
        await bob.leave("room:1")
        await app.extensions["ws"].broadcast("room:1", "after", {})
        await ada.receive(event="after")
        with pytest.raises(TimeoutError):
            await bob.receive(event="after", timeout=0.3)
        ping = await ada.request({"type": "ping"})
        assert ping["status"] == "ok"


async def test_channel_errors_are_replies_and_the_connection_survives(ws_app):
    async with ws_app() as (_app, url), ws_connect(url) as client:
        await client.join("room:1")
        with pytest.raises(WsReplyError) as raised:
            await client.push("room:1", "nope")
        assert raised.value.code == "ws.unknown_event"
        assert "say, shout" in raised.value.message
        with pytest.raises(WsReplyError) as raised:
            await client.push("room:1", "full")
        assert (raised.value.code, raised.value.details) == ("room.full", {"max": 2})
        with pytest.raises(WsReplyError) as raised:
            await client.push("room:1", "crash")
        assert raised.value.code == "ws.handler_failed"
        assert "RuntimeError" in raised.value.message
        with pytest.raises(WsReplyError) as raised:
            await client.join("room:1")
        assert raised.value.code == "ws.already_joined"
        with pytest.raises(WsReplyError) as raised:
            await client.join("kitchen:1")
        assert raised.value.code == "ws.unknown_topic"
        assert "room:{id}" in raised.value.message
        with pytest.raises(WsReplyError) as raised:
            await client.push("room:2", "say")
        assert raised.value.code == "ws.not_joined"
        with pytest.raises(WsReplyError) as raised:
            await client.join("room:secret")
        assert raised.value.code == "ws.unauthorized"
        with pytest.raises(WsReplyError) as raised:
            await client.join("room:3", {"presence": "sometimes"})
        assert raised.value.code == "ws.malformed"
        # still up after all of it
        assert await client.push("room:1", "say", {"t": 1}) == {"ok": True}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "ws.malformed"),
        ("[1, 2]", "ws.malformed"),
        ('{"type": "dance", "ref": "9"}', "ws.unknown_type"),
        ('{"type": "join", "ref": "9"}', "ws.malformed"),
        ('{"type": "event", "topic": "room:1", "ref": "9"}', "ws.malformed"),
        ('{"type": "join", "topic": "room:1", "ref": {"no": 1}}', "ws.malformed"),
        (b"\x00\x01binary", "ws.malformed"),
    ],
)
async def test_malformed_frames_get_an_error_reply(ws_app, raw, code):
    async with ws_app() as (_app, url), ws_connect(url) as client:
        await client.send_raw(raw)
        frame = await client.receive(type=("error" if '"ref": "9"' not in str(raw) else "reply"))
        assert frame["payload"]["code"] == code
        assert await client.join("room:1")  # the connection still works


async def test_oversized_message_closes_with_1009(ws_app):
    async with ws_app(ws={"max_message_bytes": 1024}) as (app, url), ws_connect(url) as client:
        await client.join("room:1", {"user": "ada"})
        await client.send_raw('{"type": "ping", "pad": "' + "é" * 600 + '"}')  # 1200+ bytes
        assert await client.wait_closed() == 1009
        assert "max_message_bytes 1024" in client.close_reason
        assert app.extensions["ws"].presence.list("room:1") == {}


async def test_rate_limit_drops_messages_past_the_bucket(ws_app):
    settings = {"rate_limit_per_s": 1, "rate_limit_burst": 3}
    async with ws_app(ws=settings) as (_app, url), ws_connect(url) as client:
        await client.join("room:1")  # one token
        replies = [await client.request({"type": "ping"}) for _ in range(4)]
        assert [r["status"] for r in replies] == ["ok", "ok", "error", "error"]
        assert replies[-1]["payload"]["code"] == "ws.rate_limited"


async def test_max_topics_per_connection(ws_app):
    async with ws_app(ws={"max_topics": 2}) as (_app, url), ws_connect(url) as client:
        await client.join("room:1")
        await client.join("room:2")
        with pytest.raises(WsReplyError) as raised:
            await client.join("room:3")
        assert raised.value.code == "ws.too_many_topics"


async def _refused(url: str, **kwargs) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as raised:
        async with connect(url.replace("http", "ws") + "/ws", **kwargs):
            pass
    return raised.value.response.status_code, raised.value.response.body


async def test_origin_check(ws_app):
    async with ws_app() as (_app, url):
        host = url.removeprefix("http://")
        status, body = await _refused(url, origin="http://evil.example")
        assert status == 403
        assert b"ws.origin_not_allowed" in body
        async with ws_connect(url, headers={"Origin": f"http://{host}"}) as same_host:
            await same_host.join("lobby")
    async with ws_app(ws={"allowed_origins": ["https://app.example"]}) as (_app, url):
        assert (await _refused(url, origin="http://evil.example"))[0] == 403
        async with ws_connect(url, headers={"Origin": "https://app.example"}) as allowed:
            await allowed.join("lobby")


SECRET = {"session": {"secret_key": "s" * 32}}


async def test_auth_by_bearer_token_and_required_auth(ws_app):
    from mega.plugins.ws import issue_token

    async with ws_app(ws={"require_auth": True}, http=SECRET) as (app, url):
        status, body = await _refused(url)
        assert status == 401
        assert b"ws.unauthorized" in body
        status, body = await _refused(url, additional_headers={"Authorization": "Bearer forged"})
        assert (status, b"ws.token_invalid" in body) == (401, True)
        token = issue_token(app, "admin")
        async with ws_connect(url, token=token) as admin:  # the token as a subprotocol
            assert admin.ws.subprotocol == "mega.v1"
            assert (await admin.join("room:secret"))["identity"] == "admin"
        plain = url.replace("http", "ws") + f"/ws?token={token}"  # in the URL: still accepted
        async with connect(plain) as in_query:
            await in_query.send('{"type": "join", "topic": "room:secret", "ref": "1"}')
            assert '"status":"ok"' in await in_query.recv()
        async with ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as header:
            assert (await header.join("room:1"))["identity"] == "admin"
    async with ws_app(ws={"require_auth": True, "token_ttl_s": 1}, http=SECRET) as (app, url):
        token = issue_token(app, "ada")
        await asyncio.sleep(2.1)
        status, body = await _refused(url, additional_headers={"Authorization": f"Bearer {token}"})
        assert (status, b"ws.token_expired" in body) == (401, True)


async def test_auth_by_session_cookie(ws_app, tmp_path):
    routes = tmp_path / "apps/main/routes"
    routes.mkdir(parents=True)
    (routes / "login.py").write_text(
        "from mega.plugins.http import post\n\n"
        "async def login(ctx):\n"
        "    ctx.session['user_id'] = 'ada'\n"
        "    return {'ok': True}\n\n"
        "routes = [post('/login', login, csrf=False)]\n"
    )
    import httpx

    async with ws_app(ws={"require_auth": True}, http=SECRET) as (_app, url):
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post("/login")
            assert response.status_code == 200, response.text
            cookie = response.headers["set-cookie"].split(";")[0]
        async with ws_connect(url, headers={"Cookie": cookie}) as client:
            assert (await client.join("room:1"))["identity"] == "ada"


async def test_the_javascript_client_is_served(ws_app):
    import httpx

    async with ws_app() as (_app, url), httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/ws/client.js")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert "MegaSocket" in response.text


async def test_shutdown_closes_clients_with_1001_and_refuses_new_ones(ws_app):
    async with ws_app() as (app, url), ws_connect(url) as client:
        await client.join("room:1", {"user": "ada"})
        hub = app.extensions["ws"]
        await hub.stop()
        assert await client.wait_closed() == 1001
        status, body = await _refused(url)
        assert (status, b"ws.shutting_down" in body) == (503, True)
        hub.closing = False  # let the app's own shutdown run its stop again harmlessly


async def test_permessage_deflate_is_negotiated_when_enabled(ws_app):
    from mega.testing import serve_http

    async with ws_app() as (app, _url), serve_http(app, compression=True) as url:
        async with ws_connect(url, compression=True) as client:
            extensions = client.ws.response.headers.get("Sec-WebSocket-Extensions", "")
            assert "permessage-deflate" in extensions
            await client.join("room:1")
            assert await client.push("room:1", "say", {"text": "é" * 500}) == {"ok": True}
            assert (await client.receive(event="said"))["payload"] == {"text": "é" * 500}
        async with ws_connect(url) as plain:  # a client may still decline it
            assert "Sec-WebSocket-Extensions" not in plain.ws.response.headers
            await plain.join("room:1")
