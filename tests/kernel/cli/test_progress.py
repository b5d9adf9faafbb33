"""Progress of long CLI work (``mega.cli.progress``): a bar on a TTY, plain lines elsewhere;
``mega new --install`` shows its install step that way."""

from __future__ import annotations

import io

from mega.cli.progress import Progress, step


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_tty_a_line_each_tenth_and_each_note():
    out = io.StringIO()
    with Progress("copying", 20, stream=out) as progress:
        progress.note("started")
        for _ in range(20):
            progress.advance()
    lines = out.getvalue().splitlines()
    assert lines == ["started", *(f"copying: {n}/20" for n in range(2, 21, 2))]


def test_off_a_tty_a_step_says_what_it_does():
    out = io.StringIO()
    with Progress("x", None, stream=out) as progress:
        progress.advance()  # unknown length: nothing to count
    assert out.getvalue() == ""
    with step("installing", stream=out) as progress:
        progress.note("installed")
    assert out.getvalue().splitlines() == ["installing...", "installed"]


def test_on_a_tty_a_bar_redraws():
    out = Tty()
    with Progress("copying", 3, stream=out) as progress:
        progress.note("a note")
        for _ in range(3):
            progress.advance()
    text = out.getvalue()
    assert "a note" in text and "copying" in text and "3/3" in text and "\x1b[" in text


def test_new_install_installs_the_projects_dependencies(mega):
    # everything it asks for is installed here already: pip checks and changes nothing
    env = mega.env() | {"PIP_NO_INDEX": "1"}
    result = mega_with_env(mega, env, "new", "shop", "--install")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing shop's dependencies: mega-framework mega-framework[dev]..." in (
        result.stderr
    )
    assert "installed shop's dependencies" in result.stderr
    assert "mega dev" in result.stdout and "mega test" in result.stdout


def test_new_install_that_fails_says_the_project_is_written(mega, tmp_path):
    impossible = tmp_path / "constraints.txt"
    impossible.write_text("mega-framework==0.0.0.1\n")
    env = mega.env() | {"PIP_NO_INDEX": "1", "PIP_CONSTRAINT": str(impossible)}
    result = mega_with_env(mega, env, "new", "shop", "--install")
    assert result.returncode != 0
    assert "the project is written, its dependencies are not installed" in result.stderr
    assert (mega.cwd / "shop" / "mega.toml").is_file()


def mega_with_env(mega, env, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "mega", *args],
        cwd=mega.cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
