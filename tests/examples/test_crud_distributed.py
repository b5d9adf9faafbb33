"""examples/crud on PostgreSQL + NATS + Redis as the distributed profile runs it: two `mega
serve` processes (the scheduler in both), one `mega worker` — and what happens when one dies."""

from __future__ import annotations

import json
import signal

import httpx

from mega.testing import ws_connect

from .conftest import wait_for


def _lines(path, event):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            out.append(json.loads(line))
    return out


def test_a_worker_killed_mid_send_does_not_lose_the_welcome(crud_distributed):
    app = crud_distributed
    app.env["CRUD_WELCOME_DELAY_MS"] = "2000"  # the "SMTP" send takes 2 s: time to kill it
    _, url = app.serve()
    first = app.start("worker", log="worker-1.log")
    answer = httpx.post(
        f"{url}/api/register",
        json={"email": "kim@example.com", "name": "Kim", "password": "harbor-light-5"},
    )
    assert answer.status_code == 201, answer.text
    user_id = answer.json()["data"]["id"]
    log1 = app.root / "worker-1.log"
    wait_for(lambda: _lines(log1, "welcome.sending"), 30, "the worker to start sending")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert not (app.outbox() / f"welcome-{user_id}.eml").exists()

    app.start("worker", log="worker-2.log")
    # redelivered once the dead worker's lease (ack_wait_ms = 5 s) lapses, then sent
    wait_for(lambda: (app.outbox() / f"welcome-{user_id}.eml").exists(), 40, "the welcome")
    [sending] = _lines(app.root / "worker-2.log", "welcome.sending")
    assert sending["delivery"] == 2
    assert [p.name for p in app.outbox().iterdir()] == [f"welcome-{user_id}.eml"]
    status = json.loads(app.mega("jobs", "status", "--json"))
    assert [(r["job"], r["pending"], r["dlq_depth"]) for r in status] == [("SendWelcome", 0, 0)]


async def test_killing_one_app_process_shows_its_users_leaving_on_the_other(crud_distributed):
    app = crud_distributed
    _, url_a = app.serve(log="serve-a.log")
    proc_b, url_b = app.serve(log="serve-b.log")
    async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
        for http, email, name in [(a, "ha@example.com", "Ha"), (b, "yu@example.com", "Yu")]:
            made = await http.post(
                "/api/register", json={"email": email, "name": name, "password": "morning-dew-24"}
            )
            assert made.status_code == 201, made.text
        token = (await a.get("/api/session")).json()["data"]["csrf_token"]
        board = await a.post(
            "/api/boards", json={"title": "Shared"}, headers={"x-csrf-token": token}
        )
        topic = f"board:{board.json()['data']['id']}"
        cookie_a = f"mega_session={a.cookies['mega_session']}"
        cookie_b = f"mega_session={b.cookies['mega_session']}"
    async with ws_connect(url_a, headers={"cookie": cookie_a}) as on_a:
        await on_a.join(topic)
        async with ws_connect(url_b, headers={"cookie": cookie_b}) as on_b:
            await on_b.join(topic)
            both = await on_a.wait_presence(topic, lambda p: len(p) == 2, timeout=10)
            names = sorted(entry["metas"][0]["name"] for entry in both.values())
            assert names == ["Ha", "Yu"]
            proc_b.send_signal(signal.SIGKILL)  # no goodbye: node A must notice the silence
            proc_b.wait(timeout=10)
            alone = await on_a.wait_presence(topic, lambda p: len(p) == 1, timeout=15)
            assert [entry["metas"][0]["name"] for entry in alone.values()] == ["Ha"]
