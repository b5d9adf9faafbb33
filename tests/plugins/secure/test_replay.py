"""The replay cache on real cache adapters: a nonce is accepted once by every app instance
sharing the cache — memory within one process, file on one host, Redis anywhere."""

from __future__ import annotations

import asyncio
import json

import pytest

from mega.plugins.secure import SecureClient

from .conftest import redis_cache, secure_config


def caches(tmp_path, redis_prefix):
    return {
        "file": lambda: {"driver": "file", "path": str(tmp_path / "store")},
        "redis": lambda: redis_cache(redis_prefix),
    }


def config(keys, cache):
    plugins = ("memory", "file", "redis", "http", "ws", "secure")
    return secure_config(keys, cache=cache, plugins=plugins)


@pytest.mark.parametrize("driver", ["memory", "file", "redis"])
async def test_a_nonce_is_accepted_once(secure_app, keys, tmp_path, redis_prefix, driver):
    cache = {"driver": "memory"} if driver == "memory" else caches(tmp_path, redis_prefix)[driver]()
    async with secure_app(config(keys, cache)) as (_app, client):
        secure = SecureClient(kid="acme-1", key=keys.acme_1, http=client)
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "once"})
        statuses = [(await secure.send(sealed)).status_code for _ in range(3)]
        assert statuses == [201, 401, 401]


@pytest.mark.parametrize("driver", ["file", "redis"])
async def test_a_request_replayed_to_another_app_instance_sharing_the_cache_is_refused(
    secure_app, keys, tmp_path, redis_prefix, driver
):
    cache = caches(tmp_path, redis_prefix)[driver]()
    async with (
        secure_app(config(keys, cache)) as (_a, first),
        secure_app(config(keys, cache)) as (_b, second),
    ):
        secure = SecureClient(kid="acme-1", key=keys.acme_1, http=first)
        sealed = secure.prepare("POST", "/api/secure/notes", json={"text": "pay 10"})
        assert (await secure.send(sealed)).status_code == 201
        replayed = await second.send(sealed.request)
        assert replayed.status_code == 401
        assert replayed.json()["error"]["code"] == "secure.replayed"

        # sent to both at once: exactly one of them takes it
        racing = secure.prepare("POST", "/api/secure/notes", json={"text": "pay 20"})
        answers = await asyncio.gather(first.send(racing.request), second.send(racing.request))
        assert sorted(a.status_code for a in answers) == [201, 401]


async def test_a_forged_envelope_burns_no_nonce(secure_app, keys, redis_prefix):
    # the nonce is recorded only once the message authenticated: a forgery carrying a nonce
    # the real client will use does not get that message refused
    async with secure_app(config(keys, redis_cache(redis_prefix))) as (_app, client):
        real = SecureClient(kid="acme-1", key=keys.acme_1, http=client)
        forger = SecureClient(kid="acme-1", key=bytes(32), http=client)
        sealed = real.prepare("POST", "/api/secure/notes", json={"text": "x"})
        forged = forger.prepare("POST", "/api/secure/notes", json={"text": "y"})
        envelope = json.loads(forged.request.content)
        envelope["nonce"] = json.loads(sealed.request.content)["nonce"]
        request = client.build_request(
            "POST",
            "/api/secure/notes",
            content=json.dumps(envelope).encode(),
            headers={"content-type": "application/vnd.mega.secure+json"},
        )
        assert (await client.send(request)).json()["error"]["code"] == "secure.decrypt_failed"
        assert (await real.send(sealed)).status_code == 201
