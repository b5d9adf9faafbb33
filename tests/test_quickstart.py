"""docs/quickstart.md, executed: its `sh` blocks are run and its files written, in order, in a
fresh directory — so the page a new user reads first cannot drift from what mega does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mega.testing.services import free_port

DOC = Path(__file__).resolve().parents[1] / "docs" / "quickstart.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
TITLE = re.compile(r'title="([^"]+)"')


def script_of(markdown: str) -> str:
    """One bash script: each `sh` block's commands, each titled block as a file write."""
    lines = ["set -euo pipefail"]
    for lang, info, body in BLOCK.findall(markdown):
        title = TITLE.search(info)
        if title:
            lines += [
                f"cat > {title.group(1)} <<'QUICKSTART_EOF'",
                body.rstrip("\n"),
                "QUICKSTART_EOF",
            ]
        elif lang == "sh":
            for command in body.splitlines():
                if command.strip().startswith("pip install"):
                    continue  # mega is installed in the test's environment already
                lines.append(command)
    return "\n".join(lines) + "\n"


def test_the_quickstart_runs_as_written(tmp_path, mega):
    script = script_of(DOC.read_text())
    assert "mega migrate up" in script and 'title="' not in script
    env = mega.env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # `mega dev --once` listens on [plugins.http] port: a port of the test's own, not 8000
    env["MEGA__PLUGINS__HTTP__PORT"] = str(free_port())
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "applied 1 migration(s)" in out
    assert "created apps/main/jobs/send_receipt.py" in out
    assert " passed" in out and " failed" not in out
    assert "/products/{item_id}" in out  # mega routes
    assert "NightlyReport" in out  # mega schedule list
    assert re.search(r"SendReceipt +main\.send_receipt +1 ", out)  # enqueued by the console
    assert "shop: booted" in out  # mega run --once
    assert re.search(r"shop: serving http://127\.0\.0\.1:\d+ \(web pid \d+, worker pid", out)
    project = tmp_path / "shop"
    assert (project / ".mega" / "app.sqlite3").is_file()
