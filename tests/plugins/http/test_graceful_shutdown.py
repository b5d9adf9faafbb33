"""`mega serve` under SIGTERM: requests in flight finish, a stuck one is cut at the one
deadline, and the phases of the shutdown are logged with their times."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import httpx

SLOW_ROUTES = """
import asyncio

from mega.plugins.http import get


async def slow(ctx):
    await asyncio.sleep(1.0)
    return {"finished": True}


async def stuck(ctx):
    await asyncio.sleep(600)
    return {"finished": True}


routes = [get("/slow", slow), get("/stuck", stuck)]
"""


def test_sigterm_drains_in_flight_requests_and_cuts_a_stuck_one_at_the_deadline(
    project, enable, mega, mega_serve
):
    enable("health")
    toml = project / "mega.toml"
    toml.write_text(toml.read_text().replace("[app]\n", "[app]\nshutdown_timeout_ms = 2500\n", 1))
    (project / "apps/main/routes/slow.py").write_text(SLOW_ROUTES)
    server, url = mega_serve(project, mega.env(), stderr=subprocess.PIPE)
    results: dict[str, object] = {}

    def call(path: str) -> None:
        try:
            results[path] = httpx.get(url + path, timeout=30).status_code
        except httpx.HTTPError as exc:
            results[path] = type(exc).__name__

    threads = [threading.Thread(target=call, args=(p,)) for p in ("/slow", "/stuck")]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # both requests are in flight
    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=20)
    took = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=10)
    assert results["/slow"] == 200  # in flight at the signal, finished
    assert results["/stuck"] != 200  # cut at the deadline
    assert took < 2.5 + 3  # the deadline plus process exit, not the stuck request's 600 s
    log = server.stderr.read() if server.stderr else ""
    phases = next(json.loads(line) for line in log.splitlines() if '"app.shutdown_phases"' in line)
    assert phases["deadline_ms"] == 2500
    # the request drain happened before the app's own phases, and counted against the deadline
    assert phases["phases"]["drain_requests"] >= 700
    assert phases["total_ms"] <= 2500 + 1000
    # one format for the whole process: uvicorn's own records are JSON lines too, and the
    # access line of a request carries that request's id
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(r.get("logger") == "uvicorn.error" for r in records)
    access = [r for r in records if r.get("logger") == "uvicorn.access" and "/slow" in r["event"]]
    assert access and len(access[0]["request_id"]) == 16
