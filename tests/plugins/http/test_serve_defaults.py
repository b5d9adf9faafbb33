"""`mega serve`'s defaults against hostile requests, on a real server on 127.0.0.1: forwarded
headers believed from configured proxies only, Secure cookies on https, bounded request heads."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

ROUTES = """
from mega.plugins.http import get, post


async def peer(ctx):
    return {"client": ctx.request.client.host, "scheme": ctx.request.url.scheme}


async def remember(ctx):
    ctx.session["seen"] = True
    return {"ok": True}


routes = [get("/peer", peer), post("/remember", remember, csrf=False)]
"""
SECRET = "s" * 40


def serve(project: Path, mega, mega_serve, http: str = "") -> tuple[str, int]:
    (project / "apps/main/routes/peer.py").write_text(ROUTES)
    toml = project / "mega.toml"
    toml.write_text(toml.read_text().replace("[plugins.http]\n", f"[plugins.http]\n{http}", 1))
    env = mega.env() | {"MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY": SECRET}
    server, url = mega_serve(project, env)
    return url, server.pid


FORWARDED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(project, mega, mega_serve):
    url, _ = serve(project, mega, mega_serve)
    seen = httpx.get(f"{url}/peer", headers=FORWARDED).json()["data"]
    # before: uvicorn believed 127.0.0.1, so any local caller chose its address (lockouts
    # keyed by address were bypassed) and its scheme
    assert seen == {"client": "127.0.0.1", "scheme": "http"}
    cookie = httpx.post(f"{url}/remember", headers=FORWARDED).headers["set-cookie"]
    assert "secure" not in cookie.lower()


def test_a_trusted_proxy_sets_the_client_and_https_makes_cookies_secure(project, mega, mega_serve):
    url, _ = serve(project, mega, mega_serve, 'trusted_proxies = ["127.0.0.0/8"]\n')
    seen = httpx.get(f"{url}/peer", headers=FORWARDED).json()["data"]
    assert seen == {"client": "203.0.113.9", "scheme": "https"}
    cookie = httpx.post(f"{url}/remember", headers=FORWARDED).headers["set-cookie"]
    assert "; secure" in cookie.lower()  # before: no Secure on https behind a proxy
    plain = httpx.post(f"{url}/remember").headers["set-cookie"]
    assert "secure" not in plain.lower()  # plain http from the proxy: a dev setup, no Secure


def _raw(url: str, head: bytes, chunk: int = 65_536) -> bytes:
    """Send ``head`` (in chunks, as a slow client would) and return what the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            for start in range(0, len(head), chunk):
                sock.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-head: the answer is already waiting
        answer = b""
        try:
            while data := sock.recv(65_536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


@pytest.mark.parametrize("size", [1_048_576, 16 * 1_048_576])
def test_an_oversized_header_is_refused_with_431(project, mega, mega_serve, size):
    url, _ = serve(project, mega, mega_serve)
    head = b"GET /peer HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    answer = _raw(url, head)
    # before: 200 for both (httptools has no header limit)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"request.header_too_large"' in answer
    assert httpx.get(f"{url}/peer").status_code == 200  # the server carries on


def test_too_many_headers_are_refused_with_431_and_a_normal_request_passes(
    project, mega, mega_serve
):
    url, _ = serve(project, mega, mega_serve, "max_headers = 20\n")
    many = "".join(f"X-H{i}: v\r\n" for i in range(30)).encode()
    answer = _raw(url, b"GET /peer HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # a head just under the byte limit, in one read with a body, passes
    body = b"x" * 200_000
    head = b"POST /peer HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 60_000 + b"\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    answer = _raw(url, head + body, chunk=len(head) + len(body))
    assert answer.startswith(b"HTTP/1.1 405 "), answer[:200]  # routed: GET only


def test_unfinished_huge_headers_do_not_grow_the_server(project, mega, mega_serve):
    url, pid = serve(project, mega, mega_serve)
    before = _rss(pid)
    host, port = url.removeprefix("http://").split(":")
    socks = []
    try:
        for _ in range(8):
            sock = socket.create_connection((host, int(port)), timeout=10)
            socks.append(sock)
            sock.sendall(b"GET /peer HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65_536
        for _ in range(32 * 16):  # up to 32 MB each, never finished
            for sock in list(socks):
                try:
                    sock.sendall(chunk)
                except OSError:
                    socks.remove(sock)  # refused and closed: good
            if not socks:
                break
        time.sleep(0.3)
        grown = _rss(pid) - before
    finally:
        for sock in socks:
            sock.close()
    # before: ~274 MB; now each connection is cut at 64 kB (+ one read)
    assert not socks
    assert grown < 32 * 1_048_576, grown


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")
