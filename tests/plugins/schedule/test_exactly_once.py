"""Three scheduler processes sharing one lock backend: every fire time runs exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import textwrap
import time
import uuid

import pytest

from mega.testing.services import require

TICK = """
import os, sqlite3
from mega.plugins.schedule import Schedule

class Tick(Schedule):
    cron = "* * * * * *"
    lock = {"lock": "default", "ttl_ms": 2000}
    misfire_grace_ms = 500

    async def run(self, ctx):
        db = sqlite3.connect(os.environ["RESULTS_DB"], timeout=10)
        with db:
            db.execute("INSERT INTO fires VALUES (?, ?, ?)",
                       (ctx.fire_time.isoformat(), os.getpid(), ctx.lock_token))
        db.close()
"""


def lock_table(driver, tmp_path, unique):
    if driver == "sqlite":
        return f'driver = "sqlite"\npath = "{tmp_path / "locks.sqlite3"}"'
    if driver == "redis":
        require("redis")
        return f'driver = "redis"\nkey_prefix = "mega-test:{unique}:"'
    require("postgres")
    return f'driver = "postgres"\ntable = "mega_test_locks_{unique}"'


def cleanup(driver, unique):
    if driver == "redis":
        import redis

        client = redis.Redis()
        keys = list(client.scan_iter(match=f"mega-test:{unique}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    elif driver == "postgres":
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qc",
                f"DROP TABLE IF EXISTS mega_test_locks_{unique}, mega_test_locks_{unique}_fences",
            ],
            check=False,
            capture_output=True,
        )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("driver", ["sqlite", "redis", "postgres"])
def test_three_processes_run_each_fire_exactly_once(driver, tmp_path, start_mega_run):
    unique = uuid.uuid4().hex[:10]
    project = tmp_path / "proj"
    (project / "apps" / "main" / "schedules").mkdir(parents=True)
    (project / "apps" / "__init__.py").write_text("")
    (project / "apps" / "main" / "__init__.py").write_text("")
    (project / "apps" / "main" / "schedules" / "tick.py").write_text(textwrap.dedent(TICK))
    (project / "mega.toml").write_text(
        f'[app]\nname = "tick"\nplugins = ["schedule", "{driver}"]\n\n'
        f"[adapters.lock.default]\n{lock_table(driver, tmp_path, unique)}\n"
    )
    results = tmp_path / "results.sqlite3"
    with sqlite3.connect(results) as db:
        db.execute("CREATE TABLE fires (fire_time TEXT, pid INTEGER, token INTEGER)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
    env["RESULTS_DB"] = str(results)
    procs = []
    try:
        procs = [start_mega_run(project, env) for _ in range(3)]
        time.sleep(10)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        cleanup(driver, unique)
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]
    with sqlite3.connect(results) as db:
        rows = db.execute("SELECT fire_time, pid, token FROM fires ORDER BY fire_time").fetchall()
    per_fire = {}
    for fire_time, _pid, _token in rows:
        per_fire[fire_time] = per_fire.get(fire_time, 0) + 1
    assert per_fire and max(per_fire.values()) == 1, {t: n for t, n in per_fire.items() if n > 1}
    assert len(per_fire) >= 8  # one fire a second for ~10 s, none lost while all three ran
    tokens = [token for _, _, token in rows]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
