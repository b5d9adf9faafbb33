"""``mega console``: an interactive shell on the booted app (as a tool), driven through a
pseudo-terminal as a person would; ``-c`` for scripts."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODEL = """
from mega.plugins.db import Model, String


class Product(Model):
    __table__ = "products"
    name = String(120)
"""

JOB = """
from pathlib import Path

from mega.plugins.jobs import Job


class SendReceipt(Job):
    subject = "main.send_receipt"
    retries = 0

    async def run(self, payload, ctx):
        Path(payload["marker"]).write_text("ran")
"""

SERVICE = """
class PriceService:
    def __init__(self, ctx):
        self.ctx = ctx

    def with_tax(self, amount):
        return round(amount * 1.1, 2)
"""

PROMPT = ">>> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


class Terminal:
    """A process on the slave side of a pseudo-terminal; ``expect`` reads what it writes."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = os.openpty()
        self.fd = master
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30) -> str:
        """Read until ``pattern`` (a regex) appears; returns what came before it."""
        deadline = time.monotonic() + timeout
        wanted = re.compile(pattern)
        while True:
            found = wanted.search(self.seen)
            if found:
                before, self.seen = self.seen[: found.start()], self.seen[found.end() :]
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout} s; got:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the process closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the process ended before {pattern!r}:\n{self.seen}")
                text = ANSI.sub("", chunk.decode(errors="replace"))
                self.seen += text.replace("\r\n", "\n")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def run(self, line: str) -> str:
        """Send one line and return its output (up to the next prompt), echo removed."""
        self.send(line)
        out = self.expect(re.escape(PROMPT))
        return out.split("\n", 1)[1] if "\n" in out else ""

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.fd)


@pytest.fixture
def shop(mega, project, enable):
    """The project with a sqlite database (a migrated model), a local bus whose jobs a served
    app would consume (consume = true: only tool mode keeps them), a job and a service."""
    enable(
        "db", "sqlite", "jobs",
        extra='\n[plugins.jobs]\nconsume = true\n'
        '[adapters.db.default]\ndriver = "sqlite"\n'
        '[adapters.bus.default]\ndriver = "local"\n',
    )  # fmt: skip
    app = project / "apps" / "main"
    (app / "models" / "product.py").write_text(MODEL)
    (app / "jobs" / "send_receipt.py").write_text(JOB)
    (app / "services" / "price_service.py").write_text(SERVICE)
    mega("migrate", "make", "create_products", cwd=project)
    mega("migrate", "up", cwd=project)
    return project


@pytest.fixture
def terminals():
    opened: list[Terminal] = []

    def start(project: Path, env: dict[str, str], *args: str) -> Terminal:
        terminal = Terminal([sys.executable, "-m", "mega", "console", *args], project, env)
        opened.append(terminal)
        return terminal

    yield start
    for terminal in opened:
        terminal.close()


def test_the_shell_queries_the_database_and_enqueues_without_consuming(
    mega, shop, terminals, tmp_path
):
    marker = tmp_path / "ran.txt"
    term = terminals(shop, mega.env() | {"TERM": "dumb"}, "--plain")
    banner = term.expect(re.escape(PROMPT))
    assert "booted as a tool" in banner
    assert "Product" in banner and "SendReceipt" in banner and "PriceService" in banner

    term.run("db = ctx.db()")
    assert term.run("await db.insert(Product, {'name': 'lamp'})").strip() == "1"
    rows = term.run("await db.fetch_all('select id, name from products')")
    assert "[{'id': 1, 'name': 'lamp'}]" in rows
    assert term.run("PriceService(ctx).with_tax(10)").strip() == "11.0"

    term.run(f"await ctx.jobs.enqueue(SendReceipt, {{'marker': {str(marker)!r}}})")
    # a served app with consume = true would run it now; the console's app is a tool
    term.run("await asyncio.sleep(1)")
    assert "ZeroDivisionError" in term.run("1 / 0")  # an error does not end the shell
    term.send("exit()")
    assert term.wait() == 0

    assert not marker.exists()
    [row] = json.loads(mega("jobs", "status", "--json", cwd=shop).stdout)
    assert row["job"] == "SendReceipt" and row["depth"] == 1 and row["in_flight"] == 0


def test_ctrl_d_leaves_the_shell_and_shuts_the_app_down(mega, project, terminals, site, enable):
    site.plugin(
        "marker",
        "import os, pathlib\n\n@hookimpl\ndef mega_before_shutdown(app):\n"
        "    pathlib.Path(os.environ['MARKER']).write_text('shut down')\n",
    )
    enable("marker")
    marker = project / "marker.txt"
    term = terminals(project, mega.env() | {"MARKER": str(marker)}, "--plain")
    term.expect(re.escape(PROMPT))
    assert term.run("await ctx.cache().set('k', 41)").strip() == ""
    assert term.run("await ctx.cache().get('k') + 1").strip() == "42"
    os.write(term.fd, b"\x04")  # Ctrl-D
    assert term.wait() == 0
    assert marker.read_text() == "shut down"


def test_command_prints_the_result_and_exits(mega, shop):
    result = mega(
        "console", "-c",
        "await ctx.db().insert(Product, {'name': 'desk'}); "
        "await ctx.db().fetch_val('select count(*) from products')",
        cwd=shop,
    )  # fmt: skip
    assert result.stdout.strip() == "1"
    assert mega("console", "-c", "x = 1", cwd=shop).stdout == ""


def test_command_that_raises_exits_1_with_the_error(mega, shop):
    result = mega("console", "-c", "await ctx.db().fetch_all('select * from nowhere')",
                  cwd=shop, ok=False)  # fmt: skip
    assert result.returncode == 1
    assert "error[db.query_failed]" in result.stderr and "nowhere" in result.stderr
    result = mega("console", "-c", "prices = {}\nprices['lamp']", cwd=shop, ok=False)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "KeyError: 'lamp'" in result.stderr
    assert "console.py" not in result.stderr  # the user's code, not mega's frames
    result = mega("console", "-c", "1 +", cwd=shop, ok=False)
    assert result.returncode == 1 and "SyntaxError" in result.stderr


def test_console_outside_a_project_says_what_is_missing(mega):
    result = mega("console", "-c", "1", ok=False)
    assert result.returncode == 1 and "error[config.not_found]" in result.stderr


def test_ipython_runs_awaits_on_the_apps_loop(mega, project, terminals):
    ipython = pytest.importorskip("IPython")
    where = str(Path(ipython.__file__).parent.parent)
    env = mega.env() | {"TERM": "dumb"}
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], where])
    term = terminals(project, env)
    assert "booted as a tool" in term.expect(r"In \[1\]")
    term.send("await ctx.cache().set('k', 41)\r")
    term.expect(r"In \[2\]")
    term.send("await ctx.cache().get('k') + 1\r")
    term.expect(r"Out\[2\]: 42")
    term.send("exit()\r")
    assert term.wait() == 0
