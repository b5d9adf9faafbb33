"""The operator's view: `mega routes`, `plugins`, `schedule list`, `jobs status`, `migrate
status` say something meaningful about this app (run as a user would, in a subprocess)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEGA = str(Path(sys.executable).with_name("mega"))


async def _mega(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        MEGA,
        *args,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_routes_list_pages_api_and_plugin_routes(app):
    routes = {(r["method"], r["path"]): r for r in json.loads(await _mega("routes", "--json"))}
    assert routes[("GET", "/users")]["handler"].endswith("UsersController.index")
    assert routes[("GET", "/api/users")]["handler"] == routes[("GET", "/users")]["handler"]
    assert "SignedIn" in routes[("POST", "/users")]["middleware"]
    for plugin_route in [("GET", "/metrics"), ("GET", "/health/ready"), ("WS", "/ws")]:
        assert plugin_route in routes


async def test_plugins_show_what_is_enabled(app):
    plugins = {p["name"]: p for p in json.loads(await _mega("plugins", "--json"))["plugins"]}
    enabled = {name for name, p in plugins.items() if p["enabled"]}
    wanted = {"http", "auth", "db", "jobs", "schedule", "ws", "metrics", "health", "tracing"}
    assert wanted <= enabled


async def test_schedule_list_shows_the_partition_schedule_and_its_next_fires(app):
    [row] = json.loads(await _mega("schedule", "list", "--json"))
    assert row["name"] == "KeepLogPartitions"
    assert row["cron"] == "0 3 * * *" and len(row["next"]) == 3


async def test_jobs_status_shows_the_welcome_job(app):
    rows = json.loads(await _mega("jobs", "status", "--json"))
    assert [r["job"] for r in rows] == ["SendWelcome"]
    assert {"depth", "pending", "dlq_depth"} <= set(rows[0])


async def test_migrate_status_shows_everything_applied(app):
    text = await _mega("migrate", "status")
    assert "create_schema" in text and "seed_reference_data" in text
    assert "pending" not in text
