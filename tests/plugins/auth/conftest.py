"""Apps with the auth plugin, booted from a config dict (plus app files for HTTP tests)."""

from __future__ import annotations

import contextlib
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mega.testing import boot_app
from mega.testing.services import require

#: OWASP's cheapest argon2id setting: ~20 ms a hash here instead of ~200 ms
FAST = {"time_cost": 5, "memory_cost": 7168, "parallelism": 1}
SECRET = "auth-tests-secret-key-that-is-long-enough-0123"
MEMORY = {"cache": {"default": {"driver": "memory"}}}


def config(
    auth: dict[str, Any] | None = None,
    *,
    plugins: tuple[str, ...] = ("memory", "auth"),
    adapters: dict[str, Any] | None = None,
    http: dict[str, Any] | None = None,
) -> dict[str, Any]:
    tables: dict[str, Any] = {"auth": {**FAST, **(auth or {})}}
    drivers = {t["driver"] for kind in (adapters or {}).values() for t in kind.values()}
    if "redis" in drivers:  # the redis driver comes with its plugin
        plugins = ("redis", *plugins)
    if http is not None:
        tables["http"] = http
    return {
        "app": {"plugins": list(plugins)},
        "plugins": tables,
        "adapters": MEMORY if adapters is None else adapters,
    }


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis (127.0.0.1:6379), removed after."""
    require("redis")
    prefix = f"mega-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def redis_adapters(prefix: str) -> dict[str, Any]:
    return {"cache": {"default": {"driver": "redis", "key_prefix": prefix}}}


def _forget_apps() -> None:
    import sys

    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


@pytest.fixture
def auth_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., contextlib.AbstractAsyncContextManager[Any]]:
    """``async with auth_app(files, auth={...}, http={...}) as app``: a project of ``files``
    (``apps/main/...``) with the http plugin, sessions on, booted."""
    monkeypatch.syspath_prepend(str(tmp_path))

    @contextlib.asynccontextmanager
    async def make(
        files: dict[str, str],
        *,
        auth: dict[str, Any] | None = None,
        http: dict[str, Any] | None = None,
        adapters: dict[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        for rel, source in {"apps/__init__.py": "", "apps/main/__init__.py": "", **files}.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        _forget_apps()
        http_table = {"session": {"secret_key": SECRET}, **(http or {})}
        plugins = ("memory", "http", "auth")
        try:
            async with boot_app(
                config(auth, plugins=plugins, adapters=adapters, http=http_table),
                root=tmp_path,
                environ={},
            ) as app:
                yield app
        finally:
            _forget_apps()

    return make


def client_from(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An in-process client whose requests come from ``address`` (the ASGI peer)."""
    transport = httpx.ASGITransport(app=app.extensions["http"].asgi, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
