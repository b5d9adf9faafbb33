"""Keys: configured per client id and rotated with overlapping ids, agreed per client
(X25519 / P-256) as tickets any process opens, and the boot-time checks that never show a key."""

from __future__ import annotations

import time

import pytest

from mega import MegaError
from mega.plugins.secure import SecureClient, SecureError, runtime_of
from mega.testing import boot_app

from .conftest import b64, new_key, secure_config


def acme(keys, client, kid="acme-1", raw=None):
    return SecureClient(kid=kid, key=raw or keys.acme_1, http=client)


async def note(secure, text="x"):
    return await secure.post("/api/secure/notes", json={"text": text})


async def test_during_a_rotation_both_key_ids_are_accepted_and_after_it_only_the_new(
    secure_app, keys
):
    async with secure_app(secure_config(keys, rotate=True)) as (_app, client):
        old, new = acme(keys, client), acme(keys, client, "acme-2", keys.acme_2)
        assert (await note(old)).json()["data"]["kid"] == "acme-1"
        assert (await note(new)).json()["data"]["kid"] == "acme-2"
    rotated = secure_config(keys, clients={"acme": {"keys": {"acme-2": b64(keys.acme_2)}}})
    async with secure_app(rotated) as (_app, client):
        assert (await note(acme(keys, client, "acme-2", keys.acme_2))).status_code == 201
        answer = await note(acme(keys, client))
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "secure.unknown_key"


async def test_a_key_past_its_not_after_is_expired(secure_app, keys):
    clients = {
        "acme": {
            "keys": {"acme-1": b64(keys.acme_1), "acme-2": b64(keys.acme_2)},
            "not_after": {"acme-1": int(time.time()) - 10},
        }
    }
    async with secure_app(secure_config(keys, clients=clients)) as (_app, client):
        answer = await note(acme(keys, client))
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "secure.key_expired"
        assert (await note(acme(keys, client, "acme-2", keys.acme_2))).status_code == 201


@pytest.mark.parametrize("alg", ["x25519", "p256"])
async def test_an_agreed_key_seals_requests_as_a_configured_one_does(secure_app, keys, alg):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = await SecureClient.agree(http=client, alg=alg)
        assert secure.kid.startswith("t1.")
        answer = await note(secure, "agreed")
        assert answer.sealed
        assert answer.json()["data"] == {"text": "agreed", "kid": secure.kid, "client": None}


async def test_a_handshake_sealed_under_a_configured_key_binds_the_ticket_to_its_client(
    secure_app, keys
):
    async with secure_app(secure_config(keys, paths=["/api/secure", "/secure"])) as (_, client):
        plain = await client.post(
            "/secure/handshake", json={"alg": "x25519", "public_key": "A" * 43}
        )
        assert plain.json()["error"]["code"] == "secure.required"
        secure = await SecureClient.agree(http=client, under=acme(keys, client))
        assert (await note(secure)).json()["data"]["client"] == "acme"


async def test_tickets_open_in_every_process_and_follow_the_ticket_key_rotation(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        secure = await SecureClient.agree(http=client)
    kid, key = secure.kid, secure.aead
    t2 = new_key()
    overlap = {
        "enabled": True,
        "current": "t2",
        "ticket_keys": {"t2": b64(t2), "t1": b64(keys.ticket)},
    }
    async with secure_app(secure_config(keys, agreement=overlap)) as (_app, client):
        again = SecureClient(kid=kid, key=b"\0" * 32, http=client)
        again.aead = key
        assert (await note(again)).status_code == 201  # another app instance, the old ticket key
        fresh = await SecureClient.agree(http=client)
        assert fresh.kid.startswith("t2.")
    after = {"enabled": True, "current": "t2", "ticket_keys": {"t2": b64(t2)}}
    async with secure_app(secure_config(keys, agreement=after)) as (_app, client):
        again = SecureClient(kid=kid, key=b"\0" * 32, http=client)
        again.aead = key
        answer = await note(again)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "secure.unknown_key"


async def test_a_forged_or_expired_ticket_is_refused(secure_app, keys):
    async with secure_app(secure_config(keys)) as (app, client):
        secure = await SecureClient.agree(http=client)
        tid, _, blob = secure.kid.partition(".")
        forged = SecureClient(kid=f"{tid}.{blob[:-2]}AA", key=b"\1" * 32, http=client)
        answer = await note(forged)
        assert answer.json()["error"]["code"] == "secure.unknown_key"
        runtime = runtime_of(app)
        real = runtime.clock
        runtime.clock = lambda: real() + 86_400_000 + 1_000  # the server a day and a second on
        try:
            answer = await note(secure)
        finally:
            runtime.clock = real
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "secure.key_expired"


async def test_a_bad_public_key_is_a_400(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        zero = b64(bytes(32))  # a small-order point: the shared secret would be all zeros
        cases = (("x25519", "A" * 42), ("p256", "B" * 87), ("x25519", "!" * 44), ("x25519", zero))
        for alg, key in cases:
            answer = await client.post("/secure/handshake", json={"alg": alg, "public_key": key})
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "secure.bad_public_key"
        with pytest.raises(SecureError) as caught:
            await SecureClient.agree(http=client, path="/nowhere")
        assert caught.value.code == "http.not_found"


async def test_without_agreement_there_is_no_handshake_route(secure_app, keys):
    config = secure_config(keys, agreement={"enabled": False})
    async with secure_app(config) as (_app, client):
        assert (await client.post("/secure/handshake", json={})).status_code == 404


async def test_the_browser_client_is_served(secure_app, keys):
    async with secure_app(secure_config(keys)) as (_app, client):
        script = await client.get("/secure/client.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "MegaSecure" in script.text


@pytest.mark.parametrize(
    ("secure", "code", "where"),
    [
        (
            {"clients": {"acme": {"keys": {"k1": "c2hvcnQ="}}}},
            "secure.invalid_key",
            "plugins.secure.clients.acme.keys.k1",
        ),
        (
            {"clients": {"acme": {"keys": {"k1": "not base64 at all!!"}}}},
            "secure.invalid_key",
            "plugins.secure.clients.acme.keys.k1",
        ),
        (
            {"clients": {"a": {"keys": {"k1": "KEY"}}, "b": {"keys": {"k1": "KEY"}}}},
            "secure.invalid_config",
            "plugins.secure.clients.b.keys.k1",
        ),
        (
            {"clients": {"acme": {"keys": {"bad id": "KEY"}}}},
            "secure.invalid_config",
            "plugins.secure.clients.acme.keys",
        ),
        (
            {"clients": {"acme": {"keys": {"k1": "KEY"}, "not_after": {"k9": 1}}}},
            "secure.invalid_config",
            "plugins.secure.clients.acme.not_after.k9",
        ),
        (
            {"agreement": {"enabled": True, "current": "t9", "ticket_keys": {"t1": "KEY"}}},
            "secure.invalid_config",
            "plugins.secure.agreement.current",
        ),
        ({"cache": "elsewhere"}, "secure.no_cache", None),
    ],
    ids=["short-key", "not-base64", "duplicate-id", "bad-id", "not-after", "no-current", "cache"],
)
async def test_bad_key_config_stops_the_boot_without_showing_a_key(secure, code, where):
    key = b64(new_key())
    for table in secure.get("clients", {}).values():
        table["keys"] = {k: key if v == "KEY" else v for k, v in table["keys"].items()}
    agreement = secure.get("agreement")
    if agreement:
        agreement["ticket_keys"] = {k: key for k in agreement["ticket_keys"]}
    config = {
        "app": {"plugins": ["memory", "http", "secure"]},
        "adapters": {"cache": {"default": {"driver": "memory"}}},
        "plugins": {"secure": secure},
    }
    with pytest.raises(MegaError) as caught:
        async with boot_app(config, environ={}):
            pass
    error = caught.value
    found = [error, *getattr(error, "problems", []), error.__cause__]
    match = next(e for e in found if isinstance(e, MegaError) and e.code == code)
    if where is not None:
        assert match.details["key"] == where
    for shown in (str(e) for e in found if e is not None):
        assert key not in shown and "c2hvcnQ=" not in shown and "not base64 at all" not in shown
