"""examples/crud's own test suite, run as its developers run it, on both configurations."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import EXAMPLE


@pytest.mark.timeout(600)  # a whole suite (with its schemathesis run): ~2 min per profile
@pytest.mark.parametrize("profile", ["default", "distributed"])
def test_the_example_apps_suite_passes(profile):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
    env.pop("MEGA_PROFILE", None)
    if profile == "distributed":
        from mega.testing.services import require

        for service in ("postgres", "redis", "nats"):
            require(service)
        env["MEGA_PROFILE"] = "distributed"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, f"{profile}: {done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    assert " passed" in summary and "skipped" not in summary, summary
