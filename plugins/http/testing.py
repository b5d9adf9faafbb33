"""Test helpers of the http plugin (re-exported by ``mega.testing``): call a booted app's ASGI
application in-process, or serve it on a real socket.

::

    async with boot_app(config) as app, http_client(app) as client:
        response = await client.get("/users/1")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from mega import App

    from . import HttpRuntime


def http_client(app: App, *, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` calling a booted app's ASGI application in-process."""
    import httpx

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_runtime(app).asgi), base_url=base_url
    )


@asynccontextmanager
async def serve_http(
    app: App, *, host: str = "127.0.0.1", port: int = 0, compression: bool = False
) -> AsyncIterator[str]:
    """Serve a booted app's HTTP (and WebSocket) routes with uvicorn; yields the base URL."""
    import uvicorn

    config = uvicorn.Config(
        _runtime(app).asgi,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        ws_per_message_deflate=compression,
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: raise why
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


def _runtime(app: App) -> HttpRuntime:
    found: HttpRuntime = app.extension("http", needed_by="this test helper")
    return found


__all__ = ["http_client", "serve_http"]
