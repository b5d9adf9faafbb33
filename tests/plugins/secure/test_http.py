"""Sealed HTTP requests and answers against a booted app: what a handler sees, what the client
gets back, and each refusal's code — a clear 4xx in the error envelope, never crypto text."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from mega.plugins.secure import Envelope, Sealed, SecureClient, SecureError

from .conftest import new_key, secure_config

MEDIA = "application/vnd.mega.secure+json"


def acme(keys, client, kid="acme-1", raw=None, **kwargs):
    return SecureClient(kid=kid, key=raw or keys.acme_1, http=client, **kwargs)


def refused(response, status, code):
    """The answer is a clear ``status`` error envelope with ``code`` and no library text."""
    assert response.status_code == status, response.text
    assert not response.sealed
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    text = response.text.lower()
    for leak in ("invalidtag", "cryptography", "traceback", "binascii", "orjson"):
        assert leak not in text
    return body["error"]


def rewrite(sealed, drop=(), **fields):
    """The prepared request with its envelope's fields replaced (a party in the middle)."""
    envelope = json.loads(sealed.request.content)
    envelope.update(fields)
    for name in drop:
        del envelope[name]
    headers = {k: v for k, v in sealed.request.headers.items() if k != "content-length"}
    body = json.dumps(envelope).encode()
    request = httpx.Request(
        sealed.request.method, sealed.request.url, headers=headers, content=body
    )
    return Sealed(request, sealed.nonce)


def flip(text):
    """Base64 text with its first character changed (still valid base64)."""
    return ("B" if text[0] == "A" else "A") + text[1:]


async def test_a_sealed_post_reaches_the_handler_as_json_and_its_answer_comes_back_sealed(
    secure_app, keys
):
    async with secure_app(secure_config(keys)) as (_app, client):
        sealed = acme(keys, client).prepare("POST", "/api/secure/notes", json={"text": "hello"})
        assert sealed.request.headers["content-type"] == MEDIA
        assert b"hello" not in sealed.request.content
        raw = await client.send(sealed.request)
        assert raw.headers["content-type"] == MEDIA and b"hello" not in raw.content
        envelope = Envelope.loads(raw.content)
        assert envelope.kid == "acme-1" and len(envelope.nonce) == 12

        answer = await acme(keys, client).post("/api/secure/notes", json={"text": "hello"})
        assert answer.sealed and answer.status_code == 201
        assert answer.json() == {
            "ok": True,
            "data": {"text": "hello", "kid": "acme-1", "client": "acme"},
        }


async def test_a_sealed_get_carries_its_envelope_in_a_header_and_binds_the_query(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        answer = await secure.get("/api/secure/notes/7", params={"verbose": "true"})
        assert answer.sealed
        assert answer.json()["data"] == {"id": 7, "verbose": True, "sealed": True}

        sealed = secure.prepare("GET", "/api/secure/notes/7?verbose=false")
        assert "x-mega-secure" in sealed.request.headers and not sealed.request.content
        moved = client.build_request(
            "GET", "/api/secure/notes/7?verbose=true", headers=dict(sealed.request.headers)
        )
        refused(await secure.send(Sealed(moved, sealed.nonce)), 401, "secure.decrypt_failed")


async def test_an_envelope_sent_to_another_path_does_not_open(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        sealed = secure.prepare("POST", "/open/echo", json={"text": "x"})
        moved = client.build_request(
            "POST",
            "/open/pay",
            headers=dict(sealed.request.headers),
            content=sealed.request.content,
        )
        refused(await secure.send(Sealed(moved, sealed.nonce)), 401, "secure.decrypt_failed")


async def test_a_replayed_request_is_refused(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "once"})
        assert (await secure.send(sealed)).status_code == 201
        error = refused(await secure.send(sealed), 401, "secure.replayed")
        assert "fresh nonce" in error["message"]


async def test_tampered_ciphertext_and_a_swapped_nonce_do_not_open(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "pay 10"})
        envelope = json.loads(sealed.request.content)
        tampered = rewrite(sealed, ct=flip(envelope["ct"]))
        refused(await secure.send(tampered), 401, "secure.decrypt_failed")
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "pay 10"})
        envelope = json.loads(sealed.request.content)
        refused(await secure.send(rewrite(sealed, nonce=flip(envelope["nonce"]))), 401,
                "secure.decrypt_failed")  # fmt: skip
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "pay 10"})
        envelope = json.loads(sealed.request.content)
        refused(await secure.send(rewrite(sealed, ts=envelope["ts"] + 1)), 401,
                "secure.decrypt_failed")  # fmt: skip


async def test_an_unknown_key_id_and_a_wrong_key_are_refused(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        error = refused(
            await acme(keys, client, kid="nobody", raw=new_key()).post(
                "/api/secure/notes", json={"text": "x"}
            ),
            401,
            "secure.unknown_key",
        )
        assert error["details"] == {"kid": "nobody"}
        refused(
            await acme(keys, client, raw=new_key()).post("/api/secure/notes", json={"text": "x"}),
            401,
            "secure.decrypt_failed",
        )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"nonce": "!!!not-base64!!!"}, "'nonce' is not base64"),
        ({"ct": "a b c"}, "'ct' is not base64"),
        ({"ct": "ab-_cd=="}, "'ct' is not base64"),
        ({"nonce": "AAAAAAAAAAAAAAAA"[:-1]}, "'nonce' is not base64"),
        ({"nonce": "AAAA"}, "'nonce' must be 12 bytes"),
        ({"kid": "a/b"}, "'kid' must be"),
        ({"ts": "yesterday"}, "'ts' must be an integer"),
        ({"ct": "AAAA"}, "shorter than the 16-byte tag"),
        ({"drop": ("v",)}, "'v' is missing"),
    ],
    ids=[
        "nonce-bad-base64",
        "ct-bad-base64",
        "ct-base64url",
        "unpadded",
        "short-nonce",
        "kid",
        "ts",
        "short-ct",
        "no-v",
    ],
)
async def test_a_malformed_envelope_is_a_400_naming_the_problem(secure_app, keys, fields, problem):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        sealed = rewrite(secure.prepare("POST", "/api/secure/notes", json={"text": "x"}), **fields)
        error = refused(await secure.send(sealed), 400, "secure.bad_envelope")
        assert problem in error["message"]


async def test_not_json_and_another_version_are_refused(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        answer = await client.post(
            "/api/secure/notes", content=b"{nope", headers={"content-type": MEDIA}
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "secure.bad_envelope"
        secure = acme(keys, client)
        sealed = rewrite(secure.prepare("POST", "/api/secure/notes", json={"text": "x"}), v=2)
        error = refused(await secure.send(sealed), 400, "secure.unsupported_version")
        assert error["details"] == {"version": 2, "supported": [1]}


async def test_a_clock_outside_the_skew_window_is_stale(secure_app, keys):
    async with secure_app(secure_config(keys, skew_s=30)) as (_app, client):
        for offset_ms in (-31_000, 31_000):
            secure = acme(keys, client, clock=lambda o=offset_ms: time.time_ns() // 10**6 + o)
            before_ms = time.time_ns() // 10**6
            error = refused(
                await secure.post("/api/secure/notes", json={"text": "x"}), 401, "secure.stale"
            )
            after_ms = time.time_ns() // 10**6
            assert error["details"]["skew_s"] == 30
            # the server's own clock at the refusal, not the client's shifted one
            assert before_ms <= error["details"]["server_time_ms"] <= after_ms
        within = acme(keys, client, clock=lambda: time.time_ns() // 10**6 - 20_000)
        assert (await within.post("/api/secure/notes", json={"text": "x"})).status_code == 201


async def test_a_required_prefix_refuses_plain_requests_and_other_paths_choose(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        plain = await client.post("/api/secure/notes", json={"text": "x"})
        assert plain.status_code == 400
        assert plain.json()["error"]["code"] == "secure.required"
        plain = await client.get("/api/secure/notes/1")
        assert plain.json()["error"]["code"] == "secure.required"
        # elsewhere a client chooses: in the clear, or sealed
        assert (await client.post("/open/echo", json={"text": "x"})).json()["data"] == {
            "text": "x",
            "sealed": False,
        }
        answer = await acme(keys, client).post("/open/echo", json={"text": "x"})
        assert answer.sealed and answer.json()["data"] == {"text": "x", "sealed": True}


async def test_require_secure_opts_one_route_in(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        plain = await client.post("/open/pay", json={"text": "10"})
        assert plain.status_code == 400 and plain.json()["error"]["code"] == "secure.required"
        answer = await acme(keys, client).post("/open/pay", json={"text": "10"})
        assert answer.sealed and answer.json()["data"] == {"paid": "10"}


async def test_a_handlers_errors_and_a_bodyless_request_are_answered_sealed(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        invalid = await secure.post("/api/secure/notes", json={"wrong": 1})
        assert invalid.sealed and invalid.status_code == 422
        assert invalid.json()["error"]["code"] == "request.invalid"
        missing = await secure.get("/api/secure/nothing-here")
        assert missing.sealed and missing.status_code == 404
        gone = await secure.delete("/api/secure/notes/3")
        assert gone.sealed and gone.json()["data"] == {"deleted": 3}


async def test_an_answer_in_the_clear_to_a_sealed_request_is_refused_by_the_client(
    secure_app, keys
):
    # a party in the middle that strips the seal: the client does not take a clear 2xx
    async with secure_app(secure_config(keys, paths=[])) as (_app, client):
        secure = acme(keys, client)
        sealed = secure.prepare("POST", "/open/echo", json={"text": "x"})
        stripped = client.build_request("POST", "/open/echo", json={"text": "x"})
        with pytest.raises(SecureError) as caught:
            await secure.send(Sealed(stripped, sealed.nonce))
        assert caught.value.code == "secure.unsealed"


async def test_an_answer_cannot_be_replayed_as_the_answer_to_another_request(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = acme(keys, client)
        first = secure.prepare("POST", "/api/secure/notes", json={"text": "a"})
        answer = await client.send(first.request)
        second = secure.prepare("POST", "/api/secure/notes", json={"text": "b"})
        with pytest.raises(SecureError) as caught:
            secure._open(answer, second.nonce)
        assert caught.value.code == "secure.decrypt_failed"
