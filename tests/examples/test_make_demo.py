"""`make demo`, the README's first command: sets up examples/crud and serves it with no server.

Run on a copy of the app (as a fresh clone has it) on a free port, then stopped with SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import httpx
import pytest

from mega.testing.services import free_port

from .conftest import DEMO, REPO, copy_example, wait_for


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_make_demo_sets_up_and_serves_the_app(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    app = copy_example(tmp_path / "crud")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA")}
    log = (tmp_path / "demo.log").open("w")
    make = subprocess.Popen(
        ["make", "-C", str(REPO), "demo", f"DEMO_APP={app}", f"DEMO_PORT={port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url) or make.poll() is not None, 180, "the demo to serve")
        output = (tmp_path / "demo.log").read_text()
        assert make.poll() is None, output
        assert f"sign in as {DEMO[0]} / {DEMO[1]}" in output
        assert "MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY=" in (app / ".env").read_text()
        with httpx.Client(base_url=url) as http:
            signed = http.post("/api/login", json={"email": DEMO[0], "password": DEMO[1]})
            assert signed.status_code == 200, signed.text
            users = http.get("/api/users", params={"limit": 100}).json()["data"]["items"]
            assert len(users) == 25  # the demo account and 24 sample users
        # the welcome jobs queued by the seed are consumed by the served app itself
        outbox = app / ".mega" / "outbox"
        wait_for(
            lambda: outbox.exists() and len(list(outbox.glob("*.eml"))) == 25,
            60,
            "the 25 welcome e-mails",
        )
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
