"""The WebSocket terminator over a real socket: channels see plain frames, the wire carries
envelopes both ways, and a bad frame is answered (sealed) without closing the connection."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import InvalidStatus

from mega.plugins.secure import Envelope, SecureClient
from mega.testing import WsClient, WsReplyError, ws_connect

from .conftest import new_key, redis_cache, secure_config


def acme(keys, url, **kwargs):
    return SecureClient(url, kid="acme-1", key=keys.acme_1, **kwargs)


async def test_channels_see_plain_frames_and_the_wire_carries_envelopes(secure_app, keys):
    async with secure_app(secure_config(keys), serve=True) as (_app, url):
        async with acme(keys, url) as secure, secure.websocket("/ws") as socket:
            await socket.send(json.dumps({"type": "ping", "ref": "p"}))
            raw = await socket.ws.recv()
            envelope = Envelope.loads(raw)  # the wire: an envelope, nothing in the clear
            assert envelope.kid == "acme-1" and "reply" not in raw
            assert json.loads(socket.open(raw))["ref"] == "p"

            client = WsClient(socket)
            assert await client.join("room:1") == {"room": "1"}
            assert await client.push("room:1", "say", {"text": "hi"}) == {"said": "hi"}
            assert (await client.receive(event="said"))["payload"] == {"text": "hi"}


async def test_a_broadcast_reaches_a_plain_socket_in_the_clear_and_a_secure_one_sealed(
    secure_app, keys
):
    async with secure_app(secure_config(keys), serve=True) as (_app, url):
        async with (
            acme(keys, url) as secure,
            secure.websocket("/ws") as socket,
            ws_connect(url) as plain,
        ):
            sealed = WsClient(socket)
            await sealed.join("room:2")
            await plain.join("room:2")
            await plain.push("room:2", "say", {"text": "to all"})
            assert (await sealed.receive(event="said"))["payload"] == {"text": "to all"}


async def test_bad_frames_are_answered_with_sealed_errors_and_the_socket_stays_up(secure_app, keys):
    async with secure_app(secure_config(keys, skew_s=30), serve=True) as (_app, url):
        async with acme(keys, url) as secure, secure.websocket("/ws") as socket:
            sealed = socket.seal(json.dumps({"type": "ping", "ref": "1"}))
            await socket.send_raw(sealed)
            assert json.loads(await socket.recv())["ref"] == "1"

            async def error_code() -> str:
                frame = json.loads(await socket.recv())
                assert frame["type"] == "error"
                return str(frame["payload"]["code"])

            await socket.send_raw(sealed)  # the same frame again
            assert await error_code() == "secure.replayed"
            envelope = json.loads(sealed)
            envelope["ct"] = ("B" if envelope["ct"][0] == "A" else "A") + envelope["ct"][1:]
            await socket.send_raw(json.dumps(envelope))
            assert await error_code() == "secure.decrypt_failed"
            envelope["nonce"] = "%%%"
            await socket.send_raw(json.dumps(envelope))
            assert await error_code() == "secure.bad_envelope"
            await socket.send_raw('{"type": "ping", "ref": "2"}')  # a frame in the clear
            assert await error_code() == "secure.bad_envelope"
            secure.clock = lambda: time.time_ns() // 10**6 - 31_000
            await socket.send(json.dumps({"type": "ping", "ref": "3"}))
            assert await error_code() == "secure.stale"
            secure.clock = lambda: time.time_ns() // 10**6
            await socket.send(json.dumps({"type": "ping", "ref": "4"}))
            assert json.loads(await socket.recv())["ref"] == "4"


async def test_a_frame_sealed_for_the_server_does_not_open_as_the_servers(secure_app, keys):
    async with secure_app(secure_config(keys), serve=True) as (_app, url):
        async with acme(keys, url) as secure, secure.websocket("/ws") as socket:
            mine = socket.seal('{"type": "ping"}')
            with pytest.raises(Exception) as caught:
                socket.open(mine)  # direction is bound: a reflected frame does not open
            assert getattr(caught.value, "code", None) == "secure.decrypt_failed"


async def test_an_unknown_key_is_refused_at_the_upgrade(secure_app, keys):
    async with secure_app(secure_config(keys), serve=True) as (_app, url):
        async with SecureClient(url, kid="nobody", key=new_key()) as secure:
            with pytest.raises(InvalidStatus) as caught:
                async with secure.websocket("/ws"):
                    pass
        response = caught.value.response
        assert response.status_code == 401
        assert json.loads(response.body)["error"]["code"] == "secure.unknown_key"


async def test_required_mode_refuses_plain_sockets(secure_app, keys):
    async with secure_app(secure_config(keys, ws="required"), serve=True) as (_app, url):
        with pytest.raises(InvalidStatus) as caught:
            async with ws_connect(url):
                pass
        assert caught.value.response.status_code == 401
        assert json.loads(caught.value.response.body)["error"]["code"] == "secure.required"
        async with acme(keys, url) as secure, secure.websocket("/ws") as socket:
            assert await WsClient(socket).join("room:3") == {"room": "3"}


async def test_off_mode_leaves_frames_alone(secure_app, keys):
    async with secure_app(secure_config(keys, ws="off"), serve=True) as (_app, url):
        async with acme(keys, url) as secure, secure.websocket("/ws") as socket:
            await socket.send(json.dumps({"type": "ping", "ref": "1"}))
            frame = json.loads(await socket.ws.recv())
            assert frame["payload"]["code"] == "ws.unknown_type"  # the envelope was not opened


async def test_an_agreed_key_secures_a_socket(secure_app, keys):
    async with secure_app(secure_config(keys), serve=True) as (_app, url):
        async with await SecureClient.agree(url, alg="p256") as secure:
            async with secure.websocket("/ws") as socket:
                client = WsClient(socket)
                assert await client.join("room:4") == {"room": "4"}
                with pytest.raises(WsReplyError) as caught:
                    await client.push("room:4", "shout", {})
                assert caught.value.code == "ws.unknown_event"


async def test_a_frame_replayed_on_another_app_instance_sharing_redis_is_refused(
    secure_app, keys, redis_prefix
):
    plugins = ("memory", "redis", "http", "ws", "secure")
    config = secure_config(keys, cache=redis_cache(redis_prefix), plugins=plugins)
    async with (
        secure_app(config, serve=True) as (_a, first),
        secure_app(config, serve=True) as (_b, second),
        acme(keys, first) as secure,
        secure.websocket("/ws") as one,
        secure.websocket("/ws", base_url=second) as other,
    ):
        frame = one.seal(json.dumps({"type": "ping", "ref": "1"}))
        await one.send_raw(frame)
        assert json.loads(await one.recv())["ref"] == "1"
        await other.send_raw(frame)
        refused = json.loads(await other.recv())
        assert refused["payload"]["code"] == "secure.replayed"
