"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mega.testing import boot_app, http_client
from mega.testing.services import free_port


@dataclass
class Site:
    """A directory on ``sys.path`` holding throw-away distributions (``*.dist-info`` + modules).

    Plugins made here are found by the real discovery path: ``importlib.metadata`` reads their
    ``entry_points.txt`` exactly as it reads a pip-installed distribution's.
    """

    root: Path
    modules: set[str] = field(default_factory=set)

    def dist(
        self,
        name: str,
        *,
        plugins: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        version: str = "1.0",
    ) -> Path:
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[mega.plugins]", *(f"{ep} = {target}" for ep, target in (plugins or {}).items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for rel, source in (files or {}).items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
            self.modules.add(rel.split("/")[0].removesuffix(".py"))
        return info

    def plugin(self, name: str, body: str = "", *, dist: str | None = None, **spec: str) -> str:
        """One plugin in its own distribution; ``body`` is module source before the spec.

        ``spec`` keyword arguments are PluginSpec arguments written as Python source.
        """
        module = f"{name.replace('-', '_')}_plugin"
        args = "".join(f", {k}={v}" for k, v in spec.items())
        source = (
            "from mega import PluginSpec, PluginConfig, hookimpl\n"
            + textwrap.dedent(body)
            + f"\nplugin = PluginSpec(name={name!r}{args})\n"
        )
        self.dist(dist or f"{name}-dist", plugins={name: module}, files={f"{module}.py": source})
        return module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    made = Site(root)
    yield made
    for name in list(sys.modules):
        if name.split(".")[0] in made.modules:
            del sys.modules[name]


@dataclass
class OwnServer:
    """A server process of the test's own, on a free port: stop and start it to inject faults."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        from mega.testing.services import reachable

        self.proc = subprocess.Popen(
            self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port, timeout=0.2):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.argv()[0]} did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients or peers, what was not on disk is gone."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class OwnRedis(OwnServer):
    """A private redis-server that keeps nothing on disk."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]


@dataclass
class OwnNats(OwnServer):
    """A private nats-server with JetStream, its store in ``store_dir`` (kept across restarts)."""

    store_dir: str = ""
    #: in a cluster: its server name, its route port and its peers' route ports
    name: str = ""
    cluster_port: int = 0
    peer_ports: tuple[int, ...] = ()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            "nats-server",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            self.store_dir,
        ]
        if self.cluster_port:
            routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.peer_ports)
            argv += ["-n", self.name, "--cluster_name", "mega-test"]
            argv += ["--cluster", f"nats://127.0.0.1:{self.cluster_port}", "--routes", routes]
        return argv


@dataclass
class OwnPostgres(OwnServer):
    """A private PostgreSQL cluster (initdb'd in ``data_dir``, kept across restarts)."""

    data_dir: str = ""
    bin_dir: str = ""

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def argv(self) -> list[str]:
        return [
            f"{self.bin_dir}/postgres", "-D", self.data_dir, "-p", str(self.port),
            "-k", self.data_dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
        ]  # fmt: skip

    def start(self) -> None:
        from mega.testing.services import reachable

        self.proc = subprocess.Popen(
            self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=_pg_user()
        )
        deadline = time.monotonic() + 20
        while not reachable("127.0.0.1", self.port, timeout=0.2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"postgres did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients are cut off
            self.proc.wait(timeout=20)
            self.proc = None


def _pg_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, it runs as the postgres account."""
    return "postgres" if os.geteuid() == 0 else None


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A private PostgreSQL (initdb + started, about 2 s); stopped after the test."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        _need_binary("initdb")
    bin_dir = str(found[-1].parent) if found else str(Path(shutil.which("initdb") or "").parent)
    # not under tmp_path: pytest keeps that private to the user running it (as root, the
    # postgres account could not reach it)
    home = Path(tempfile.mkdtemp(prefix="mega-pg-"))
    data = home / "data"
    try:
        if _pg_user() is not None:
            shutil.chown(home, _pg_user())
        subprocess.run(
            [f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True, capture_output=True, timeout=120, user=_pg_user(),
        )  # fmt: skip
        server = OwnPostgres(free_port(), data_dir=str(data), bin_dir=bin_dir)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _need_binary(name: str) -> None:
    if shutil.which(name) is None:
        if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{name} is not installed, and MEGA_REQUIRE_SERVICES=1 needs it")
        pytest.skip(f"{name} is not installed")


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    """A private nats-server (started); stopped after the test."""
    _need_binary("nats-server")
    server = OwnNats(free_port(), store_dir=str(tmp_path / "nats-store"))
    server.start()
    yield server
    server.stop()


@dataclass
class OwnNatsCluster:
    """Three private nats-servers with JetStream, clustered over loopback routes."""

    servers: list[OwnNats]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def named(self, name: str) -> OwnNats:
        return next(server for server in self.servers if server.name == name)

    async def wait_ready(self, within: float = 30.0) -> None:
        """Wait until the cluster places a stream on all three servers (it elected its
        JetStream meta leader, and that leader knows every peer)."""
        import asyncio

        import nats
        from nats.js.api import StorageType, StreamConfig

        nc = await nats.connect(servers=self.urls, connect_timeout=1, reconnect_time_wait=0.1)
        probe = StreamConfig(
            name="MEGA_TEST_READY", subjects=["mega.test.ready"], num_replicas=3,
            storage=StorageType.MEMORY,
        )  # fmt: skip
        try:
            js = nc.jetstream(timeout=1)
            deadline = time.monotonic() + within
            while True:
                try:
                    await js.add_stream(probe)
                    await js.delete_stream(probe.name)
                    return
                except Exception as exc:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"cluster not ready in {within} s: {exc!r}") from exc
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()


@pytest.fixture
async def own_nats_cluster() -> AsyncIterator[OwnNatsCluster]:
    """Three private nats-servers (own client and route ports, own store directories),
    clustered and with a JetStream meta leader; stopped and their stores removed after."""
    _need_binary("nats-server")
    home = Path(tempfile.mkdtemp(prefix="mega-nats-cluster-"))
    routes = [free_port() for _ in range(3)]
    cluster = OwnNatsCluster(
        [
            OwnNats(
                free_port(),
                store_dir=str(home / f"n{i}"),
                name=f"n{i}",
                cluster_port=routes[i],
                peer_ports=tuple(p for p in routes if p != routes[i]),
            )
            for i in range(3)
        ]
    )
    try:
        for server in cluster.servers:
            server.start()
        await cluster.wait_ready()
        yield cluster
    finally:
        for server in cluster.servers:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def own_redis_factory() -> Iterator[Callable[[], OwnRedis]]:
    """``own_redis_factory()`` starts another private redis-server; all stop after the test."""
    _need_binary("redis-server")
    servers: list[OwnRedis] = []

    def start() -> OwnRedis:
        server = OwnRedis(free_port())
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def own_redis(own_redis_factory: Callable[[], OwnRedis]) -> OwnRedis:
    return own_redis_factory()


@pytest.fixture
def start_mega_run() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``start_mega_run(project, env)``: ``mega run`` in a subprocess, returned once it runs.

    ``args`` and ``ready`` run another command (``("worker",)``) and wait for its ready line.
    Processes still alive at the end of the test are killed.
    """
    started: list[subprocess.Popen[str]] = []

    def start(
        project: Path,
        env: dict[str, str],
        args: tuple[str, ...] = ("run",),
        ready: str = "running; press Ctrl-C",
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mega", *args],
            cwd=project,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            lines.append(line)
            if ready in line:
                return proc
            if not line and proc.poll() is not None:
                break
        proc.kill()
        raise AssertionError(f"mega {' '.join(args)} did not start:\n" + "".join(lines))

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def mega_serve() -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """``mega_serve(project, env, *args, port=None, stderr=DEVNULL)`` -> (process, base URL):
    ``mega serve`` on 127.0.0.1, returned once it listens. Still running at the end of the
    test, it gets SIGTERM, then SIGKILL."""
    from mega.testing.services import free_port, reachable

    started: list[subprocess.Popen[str]] = []

    def start(
        project: Path,
        env: dict[str, str] | None,
        *args: str,
        port: int | None = None,
        stderr: int = subprocess.DEVNULL,
    ) -> tuple[subprocess.Popen[str], str]:
        port = port or free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mega", "serve", "--port", str(port), *args],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        started.append(proc)
        deadline = time.monotonic() + 30
        while not reachable("127.0.0.1", port, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"mega serve on {port} did not start: {err}")
            time.sleep(0.05)
        return proc, f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Mega:
    cwd: Path
    pythonpath: list[str]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEGA__")}
        env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
        env["NO_COLOR"] = "1"
        env["COLUMNS"] = "200"
        return env

    def __call__(
        self, *args: str, cwd: Path | None = None, ok: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mega", *args],
            cwd=cwd or self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if ok and result.returncode != 0:
            raise AssertionError(
                f"mega {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def python(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python <args>`` in ``cwd`` with this environment; fail on a non-zero exit."""
        result = subprocess.run(
            [sys.executable, *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def pytest(self, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def mega(tmp_path: Path, site) -> Mega:
    work = tmp_path / "work"
    work.mkdir()
    return Mega(work, [str(site.root)])


@pytest.fixture
def project(mega: Mega) -> Path:
    mega("new", "shop")
    return mega.cwd / "shop"


@pytest.fixture
def enable(project: Path):
    """``enable("a", "b", extra="toml")``: enable plugins (after memory) in the project."""

    def enable(*plugins: str, extra: str = "") -> None:
        toml = project / "mega.toml"
        text = toml.read_text()
        line = re.search(r"^plugins = \[(.*)\]$", text, re.M)
        assert line is not None
        current = [p.strip().strip('"') for p in line.group(1).split(",") if p.strip()]
        names = ", ".join(f'"{p}"' for p in dict.fromkeys([*current, *plugins]))
        toml.write_text(text[: line.start()] + f"plugins = [{names}]" + text[line.end() :] + extra)

    return enable


def _forget_apps() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


@pytest.fixture
def forget_apps() -> Callable[[], None]:
    """Drops the ``apps`` modules of a test project from ``sys.modules`` (each test project
    has its own ``apps`` package)."""
    return _forget_apps


@pytest.fixture
def http_project(tmp_path, monkeypatch):
    """``async with http_project(files, config) as (app, client)``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    @contextlib.asynccontextmanager
    async def make(
        files: dict[str, str],
        http: dict | None = None,
        *,
        debug: bool = False,
        plugins=("http",),
        adapters: dict | None = None,
    ):
        for rel, source in {"apps/__init__.py": "", "apps/main/__init__.py": "", **files}.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        _forget_apps()
        config = {
            "app": {"plugins": list(plugins), "debug": debug},
            "plugins": {"http": http or {}},
            "adapters": adapters or {},
        }
        try:
            async with boot_app(config, root=tmp_path, environ={}) as app:
                async with http_client(app) as client:
                    yield app, client
        finally:
            _forget_apps()

    return make


@pytest.fixture
def pip_install_into() -> Callable[[Path, Path], Path]:
    """``pip_install_into(target, package)``: ``pip install --no-deps --target`` a folder or a
    wheel; returns the target, ready for PYTHONPATH (what a user's `pip install` leaves)."""
    return _pip_install_into


def _pip_install_into(target: Path, package: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: installed with apt-get when absent (this machine's test setup);
    skipped with the reason where it cannot be, failed instead under MEGA_REQUIRE_SERVICES=1."""
    import os
    import shutil
    import subprocess

    path = shutil.which("chromium")
    problem = None
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    # Korean text in screenshots needs a Hangul font (best effort: the assertions read the DOM)
    if can_install and not _has_font_for("ko"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "fonts-nanum"],
            capture_output=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if path is None:
        if not can_install:
            problem = "chromium is not installed and apt-get cannot install it here (not root)"
        else:
            done = subprocess.run(
                ["apt-get", "install", "-y", "-q", "chromium"],
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            path = shutil.which("chromium")
            if path is None:
                problem = f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    if problem is None:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem is not None:
        if os.environ.get("MEGA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem}, and MEGA_REQUIRE_SERVICES=1 requires the browser tests")
        pytest.skip(problem)
    assert path is not None
    return path


def _has_font_for(lang: str) -> bool:
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", f":lang={lang}"], capture_output=True, text=True)
    return bool(found.stdout.strip())


def _in_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
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


@pytest.fixture
def in_terminal() -> Callable[[list[str], Path, dict[str, str]], tuple[int, str]]:
    """``in_terminal(argv, cwd, env)``: run a command on a pseudo-terminal (a TTY: progress
    bars, colours); its exit status and everything it wrote."""
    return _in_terminal
