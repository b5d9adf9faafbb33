"""``mega dev``'s supervisor: which commands run (the plan), each child process, and the
swap of a running version for a new one once the new one answers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .devlog import Output
from .devproxy import Proxy

if TYPE_CHECKING:
    from mega.app import App

#: top-level entries of the project whose changes restart the app
WATCHED_DIRS = frozenset({"apps", "templates", "locales"})
WATCHED_FILES = frozenset({"mega.toml", ".env"})
#: what a child prints once it is up, when it has no port to knock on (kernel commands)
RUN_READY = "running; press Ctrl-C"
#: how long a new child may take to come up before it counts as failed
START_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Plan:
    """Which commands to run, from the app the config builds now."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    serves: bool
    host: str = "127.0.0.1"
    port: int = 8000
    #: how long a child may take to stop: the app's shutdown deadline, and some
    stop_timeout: float = 35.0


def make_plan(root: Path, environ: dict[str, str], *, worker: bool) -> Plan:
    """Build (never boot) the app: every config check runs. Raises its ``MegaError``."""
    from mega.app import App

    app = App.from_project(root, environ=environ)
    commands = app.registry.commands
    if "serve" in commands:
        host, port = _listen_address(app, commands.owner_of("serve").plugin)
        main: tuple[str, ...] = ("serve",)
    else:
        host, port, main = "127.0.0.1", 0, ("run",)
    wanted = [main, ("worker",)] if worker and "worker" in commands else [main]
    stop_timeout = app.config.app.shutdown_timeout_ms / 1000 + 5
    return Plan(app.config.app.name, tuple(wanted), main == ("serve",), host, port, stop_timeout)


def _listen_address(app: App, plugin: str) -> tuple[str, int]:
    """The host and port the serving plugin is configured with."""
    settings = app.plugin_config(plugin)
    return str(getattr(settings, "host", "127.0.0.1")), int(getattr(settings, "port", 8000))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(eq=False)
class Child:
    """One command in a process of its own (its own session: a terminal's Ctrl-C reaches the
    supervisor, which stops each child once)."""

    label: str
    argv: list[str]
    port: int | None = None
    ready_text: str | None = None
    proc: asyncio.subprocess.Process | None = None
    said_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    async def start(self, root: Path, env: dict[str, str], out: Output) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, cwd=root, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read(out))

    async def _read(self, out: Output) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            if self.ready_text and self.ready_text in text:
                self.said_ready.set()
            out.child_line(self.label, text)

    async def ready(self, within_s: float = START_TIMEOUT_S) -> bool:
        """Wait until it answers on its port (or says it is ready); False when it exits."""
        assert self.proc is not None
        deadline = time.monotonic() + within_s
        while self.proc.returncode is None and time.monotonic() < deadline:
            if self.port is not None:
                if await _answers(self.port):
                    return True
                await asyncio.sleep(0.05)
            elif self.ready_text is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.said_ready.wait(), 0.2)
                if self.said_ready.is_set():
                    return True
            else:
                return True
        if self.proc.returncode is None:
            return False  # too slow: treated as failed
        if self._reader is not None:
            await self._reader  # its last words (the error) are printed before we go on
        return False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def stop(self, grace_s: float) -> None:
        """SIGTERM (a graceful shutdown), SIGKILL after ``grace_s``."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._reader is not None:
            await self._reader


async def _answers(port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class Supervisor:
    """Runs the plan's children, watches the project, swaps in new versions."""

    def __init__(
        self,
        root: Path,
        environ: dict[str, str],
        *,
        host: str,
        port: int,
        worker: bool,
        out: Output,
    ) -> None:
        self.root = root
        self.environ = environ
        self.host = host
        self.port = port
        self.worker = worker
        self.out = out
        self.proxy = Proxy()
        self.main: Child | None = None
        self.others: list[Child] = []
        self.stop_timeout = 30.0
        #: one swap at a time (the first start and the watcher's restarts)
        self._swapping = asyncio.Lock()

    def child_env(self) -> dict[str, str]:
        env = dict(self.environ)
        env["PYTHONUNBUFFERED"] = "1"
        if self.out.tty:
            env["MEGA__APP__LOG_FORMAT"] = "json"  # rendered compactly here
        return env

    def _children(self, plan: Plan) -> tuple[Child, list[Child]]:
        python = [sys.executable, "-m", "mega"]
        if plan.serves:
            port = free_port()
            main = Child("web", [*python, "serve", "--host", "127.0.0.1", "--port", str(port)],
                         port=port)  # fmt: skip
        else:
            main = Child("app", [*python, *plan.commands[0]], ready_text=RUN_READY)
        others = [Child(c[0], [*python, *c]) for c in plan.commands[1:]]
        return main, others

    async def run(self, first: Plan, *, once: bool) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        if first.serves:
            await self.proxy.listen(self.host, self.port)
        watcher: asyncio.Task[None] | None = None
        try:
            if not once:
                # armed before the first start: an edit made while it starts is not lost (it
                # swaps again once the first swap is done)
                watcher = asyncio.create_task(self.watch(stop))
            async with self._swapping:
                started = await self.swap(first, changed=None)
            if once:
                return 0 if started else 1
            if started:
                self.out.say("Ctrl-C stops everything")
            await stop.wait()
            return 0
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            self.out.say("stopping")
            await self.proxy.close()
            children = [c for c in [self.main, *self.others] if c is not None]
            await asyncio.gather(*(c.stop(self.stop_timeout) for c in children))
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.out.say("stopped")

    async def watch(self, stop: asyncio.Event) -> None:
        import logging

        from watchfiles import awatch

        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # "1 change detected"

        names = ", ".join(sorted(f"{d}/" for d in WATCHED_DIRS) + sorted(WATCHED_FILES))
        self.out.say(f"watching {names}")
        async for changes in awatch(
            self.root, watch_filter=self.watched, stop_event=stop, debounce=400, step=50
        ):
            paths = sorted({str(Path(p).relative_to(self.root)) for _, p in changes})
            try:
                new = make_plan(self.root, self.environ, worker=self.worker)
            except Exception as exc:
                self._config_failed(exc, paths)
                continue
            async with self._swapping:
                await self.swap(new, changed=paths)

    def watched(self, _change: Any, path: str) -> bool:
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return False
        parts = rel.parts
        if not parts or "__pycache__" in parts or parts[-1].endswith((".pyc", "~", ".swp")):
            return False
        if parts[-1].startswith((".#", "#")):  # editors' lock and autosave files
            return False
        if len(parts) == 1:
            return parts[0] in WATCHED_FILES
        return parts[0] in WATCHED_DIRS

    def _config_failed(self, exc: Exception, paths: list[str]) -> None:
        from mega.errors import MegaError

        from ._errors import report

        self.out.say(f"changed: {', '.join(paths)}")
        if isinstance(exc, MegaError):
            report(exc)
        else:
            self.out.say(f"the app does not build: {type(exc).__name__}: {exc}")
        self.out.say(self._kept())

    def _kept(self) -> str:
        if self.main is None:
            return "nothing runs until the error is fixed; save the file to try again"
        return "the previous version keeps running until the error is fixed"

    async def swap(self, plan: Plan, *, changed: list[str] | None) -> bool:
        """Start ``plan``'s main child; once it is up, make it current and stop the old one,
        then restart the other children. False (and nothing changed) when it fails."""
        if changed is not None:
            self.out.say(f"changed: {', '.join(changed)}; restarting")
        self.stop_timeout = plan.stop_timeout
        main, others = self._children(plan)
        env = self.child_env()
        await main.start(self.root, env, self.out)
        if not await main.ready():
            await main.stop(self.stop_timeout)
            self.out.say(f"{plan.name} did not start (the error is above); {self._kept()}")
            return False
        old = self.main
        self.main = main
        self.proxy.target = main.port
        old_others, self.others = self.others, others
        if old is not None:
            await old.stop(self.stop_timeout)
        # one worker at a time: the old one drains before the new one consumes
        await asyncio.gather(*(c.stop(self.stop_timeout) for c in old_others))
        for child in others:
            await child.start(self.root, env, self.out)
        pids = ", ".join(f"{c.label} pid {c.pid}" for c in [main, *others])
        where = f"serving http://{self.host}:{self.port}" if plan.serves else "running"
        self.out.say(f"{plan.name}: {where} ({pids})")
        return True
