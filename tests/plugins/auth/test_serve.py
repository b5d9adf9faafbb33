"""The guard behind ``mega serve`` on a real socket: the client address is the peer unless the
peer is a proxy listed in ``[plugins.http] trusted_proxies`` — a forwarded header from anyone
else does not get a locked-out client a fresh address."""

from __future__ import annotations

from pathlib import Path

import httpx

ROUTES = """
from pydantic import BaseModel

from mega import MegaError
from mega.plugins.auth import GuardLogin, client_address, guard
from mega.plugins.http import post


class Attempt(BaseModel):
    email: str


async def login(ctx, body: Attempt):
    address = client_address(ctx)
    await guard(ctx).check(body.email, address)
    await guard(ctx).record_failure(body.email, address)
    raise MegaError("auth.invalid_credentials", "wrong", {"address": address}, http_status=422)


routes = [post("/login", login, name="login", csrf=False, middleware=[GuardLogin])]
"""
AUTH = """
[plugins.auth]
time_cost = 5
memory_cost = 7168
parallelism = 1

[plugins.auth.guard]
address_threshold = 2
account_threshold = 100
"""


def serve(project: Path, mega, mega_serve, enable, http: str = "") -> str:
    (project / "apps/main/routes/login.py").write_text(ROUTES)
    enable("auth", extra=AUTH)
    toml = project / "mega.toml"
    toml.write_text(toml.read_text().replace("[plugins.http]\n", f"[plugins.http]\n{http}", 1))
    _, url = mega_serve(project, mega.env())
    return url


def attempt(url: str, forwarded: str) -> httpx.Response:
    return httpx.post(
        f"{url}/login", json={"email": "a@example.com"}, headers={"x-forwarded-for": forwarded}
    )


def test_a_forwarded_address_is_ignored_without_a_trusted_proxy(project, mega, mega_serve, enable):
    url = serve(project, mega, mega_serve, enable)
    first = attempt(url, "203.0.113.1")
    assert first.json()["error"]["details"] == {"address": "127.0.0.1"}
    assert attempt(url, "203.0.113.2").status_code == 422
    # the peer (127.0.0.1) is locked, whatever address the next request claims
    refused = attempt(url, "203.0.113.3")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert refused.json()["error"]["details"] == {"scope": "address", "retry_after_s": 30}


def test_a_trusted_proxy_names_the_client_and_each_client_is_counted_apart(
    project, mega, mega_serve, enable
):
    url = serve(project, mega, mega_serve, enable, 'trusted_proxies = ["127.0.0.0/8"]\n')
    first = attempt(url, "203.0.113.1")
    assert first.json()["error"]["details"] == {"address": "203.0.113.1"}
    assert attempt(url, "203.0.113.1").status_code == 422
    assert attempt(url, "203.0.113.1").status_code == 429
    # what the client itself put in front of the proxy's entry is not believed
    assert attempt(url, "198.51.100.66, 203.0.113.1").status_code == 429
    other = attempt(url, "203.0.113.2")
    assert (other.status_code, other.json()["error"]["details"]) == (
        422,
        {"address": "203.0.113.2"},
    )
