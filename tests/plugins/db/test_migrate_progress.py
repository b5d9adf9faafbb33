"""``mega migrate up`` over many migrations: a bar on a TTY, a plain line per migration
elsewhere (never carriage returns in a log)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

MIGRATION = """
from mega.plugins.db.migrations import Migration, op

migration = Migration(
    up=[op.sql("CREATE TABLE t{n} (id INTEGER)"), op.sql("INSERT INTO t{n} VALUES ({n})")],
    down=[op.sql("DROP TABLE t{n}")],
    transactional={transactional},
)
"""
COUNT = 30


def in_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the process closed the terminal
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def many_migrations(project: Path) -> None:
    folder = project / "apps" / "main" / "migrations"
    for n in range(COUNT):
        text = MIGRATION.format(n=n, transactional=n % 2 == 0)  # both ways ops are applied
        (folder / f"2026010100{n:04d}-step_{n}.py").write_text(text)


def test_off_a_tty_each_migration_is_one_plain_line(mega, project, enable):
    enable("db", "sqlite", extra='\n[adapters.db.default]\ndriver = "sqlite"\n')
    many_migrations(project)
    result = mega("migrate", "up", cwd=project)
    assert result.stdout.strip() == f"applied {COUNT} migration(s)"
    lines = result.stderr.splitlines()
    applied = [line for line in lines if line.startswith("  applied ")]
    assert applied[0] == "  applied 20260101000000-step_0 (2 ops)"
    assert len(applied) == COUNT
    assert "\r" not in result.stderr and "\x1b" not in result.stderr


def test_on_a_tty_a_bar_counts_the_migrations(mega, project, enable):
    enable("db", "sqlite", extra='\n[adapters.db.default]\ndriver = "sqlite"\n')
    many_migrations(project)
    env = mega.env() | {"TERM": "xterm"}
    status, out = in_terminal([sys.executable, "-m", "mega", "migrate", "up"], project, env)
    assert status == 0, out
    assert f"{COUNT}/{COUNT}" in out and "━" in out
    assert f"applied {COUNT} migration(s)" in out
    assert "  applied 2026" not in out  # the bar, not a line per migration
