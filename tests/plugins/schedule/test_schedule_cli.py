"""`mega g schedule`, `mega schedule list`, `mega schedule run`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest


def mega(*args, cwd, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, "-m", "mega", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok and result.returncode != 0:
        raise AssertionError(f"mega {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def project(tmp_path):
    mega("new", "clock", cwd=tmp_path)
    root = tmp_path / "clock"
    toml = root / "mega.toml"
    toml.write_text(
        toml.read_text().replace(
            'plugins = ["memory", "http"]', 'plugins = ["memory", "http", "schedule", "sqlite"]'
        )
        + '\n[adapters.lock.default]\ndriver = "sqlite"\n'
    )
    return root


def test_generated_schedule_is_listed_fired_and_its_test_passes(project):
    out = mega("g", "schedule", "nightly-report", cwd=project).stdout
    assert "created apps/main/schedules/nightly_report.py" in out
    source = project / "apps/main/schedules/nightly_report.py"
    source.write_text(
        source.read_text().replace(
            'timezone = "UTC"', 'timezone = "UTC"\n    lock = {"lock": "default", "ttl_ms": 5000}'
        )
    )

    listing = json.loads(mega("schedule", "list", "--json", cwd=project).stdout)
    [row] = listing
    assert row["name"] == "NightlyReport" and row["cron"] == "0 * * * *"
    assert len(row["next"]) == 3 and all(t.endswith(":00:00+00:00") for t in row["next"])
    assert row["lock"] == {"lock": "default", "ttl_ms": 5000, "key": "mega:schedule:NightlyReport"}
    assert "next " in mega("schedule", "list", cwd=project).stdout

    fired = mega("schedule", "run", "NightlyReport", cwd=project).stdout
    assert fired.startswith("NightlyReport: done ")
    assert "'token': 1" in fired

    time.sleep(1.1)  # the generated test fires "now": not the second the manual run just took
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout


def test_running_an_unknown_schedule_names_the_known_ones(project):
    mega("g", "schedule", "Tick", cwd=project)
    result = mega("schedule", "run", "Tock", cwd=project, ok=False)
    assert result.returncode == 1
    assert "error[schedule.unknown]: no schedule named 'Tock'; known: Tick" in result.stderr


def test_a_schedule_with_a_bad_cron_stops_the_boot_naming_it(project):
    mega("g", "schedule", "Broken", cwd=project)
    path = project / "apps/main/schedules/broken.py"
    path.write_text(path.read_text().replace('cron = "0 * * * *"', 'cron = "0 25 * * *"'))
    result = mega("run", "--once", cwd=project, ok=False)
    assert (
        "error[schedule.invalid_cron]: schedule 'Broken': cron '0 25 * * *' is invalid"
        in result.stderr
    )
