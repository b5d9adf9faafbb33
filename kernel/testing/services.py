"""Probing the services tests need (PostgreSQL, Redis, NATS, MariaDB on 127.0.0.1).

``require("redis")`` returns the address when the service answers a TCP connect within 1 s.
Otherwise it skips the test with the reason, or fails it when ``MEGA_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import os
import socket

import pytest

SERVICES = {
    "postgres": ("127.0.0.1", 5432),
    "maria": ("127.0.0.1", 3306),
    "redis": ("127.0.0.1", 6379),
    "nats": ("127.0.0.1", 4222),
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(service: str) -> tuple[str, int]:
    """The (host, port) of ``service``; skip (or fail under MEGA_REQUIRE_SERVICES=1) if down."""
    host, port = SERVICES[service]
    if not reachable(host, port):
        reason = f"{service} is not reachable on {host}:{port}"
        if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and MEGA_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return host, port


async def delete_streams(prefix: str, *, server: str | None = None) -> list[str]:
    """Delete the JetStream streams whose names start with ``prefix`` (a test's own
    ``stream_prefix``); returns their names. Never pass a prefix other tests might use."""
    import nats

    if not prefix:
        raise ValueError("delete_streams needs a non-empty prefix")
    host, port = SERVICES["nats"]
    client = await nats.connect(server or f"nats://{host}:{port}")
    deleted = []
    try:
        js = client.jetstream()
        for info in await js.streams_info():
            name = info.config.name
            if name is not None and name.startswith(prefix):
                await js.delete_stream(name)
                deleted.append(name)
    finally:
        await client.close()
    return deleted
