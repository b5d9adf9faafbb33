"""``mega migrate up`` over many migrations: a bar on a TTY, a plain line per migration
elsewhere (never carriage returns in a log)."""

from __future__ import annotations

import sys
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


def test_on_a_tty_a_bar_counts_the_migrations(mega, project, enable, in_terminal):
    enable("db", "sqlite", extra='\n[adapters.db.default]\ndriver = "sqlite"\n')
    many_migrations(project)
    env = mega.env() | {"TERM": "xterm"}
    status, out = in_terminal([sys.executable, "-m", "mega", "migrate", "up"], project, env)
    assert status == 0, out
    assert f"{COUNT}/{COUNT}" in out and "━" in out
    assert f"applied {COUNT} migration(s)" in out
    assert "  applied 2026" not in out  # the bar, not a line per migration
