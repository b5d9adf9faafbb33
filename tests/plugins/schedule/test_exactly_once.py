"""Three scheduler processes sharing one lock backend: every fire time runs exactly once."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest

from .conftest import cleanup, project_env, schedule_project, stop_all

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


@pytest.mark.timeout(120)
@pytest.mark.parametrize("driver", ["sqlite", "redis", "postgres"])
def test_three_processes_run_each_fire_exactly_once(driver, tmp_path, start_mega_run):
    unique = uuid.uuid4().hex[:10]
    project = schedule_project(tmp_path, driver, unique, {"tick": TICK})
    results = tmp_path / "results.sqlite3"
    with sqlite3.connect(results) as db:
        db.execute("CREATE TABLE fires (fire_time TEXT, pid INTEGER, token INTEGER)")
    env = project_env(RESULTS_DB=str(results))
    procs = []
    try:
        procs = [start_mega_run(project, env) for _ in range(3)]
        time.sleep(10)
    finally:
        stop_all(procs)
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
