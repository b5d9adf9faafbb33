"""HTTP throughput: mega's full default pipeline vs bare Starlette, FastAPI and Litestar; mega on
granian vs mega on uvicorn and vs bare BlackSheep on granian; access lines on.

Every server is pinned to core 0 (a server's processes and threads inherit the pinning); the load
generator (wrk, from Debian's package) is pinned to core 1. mega runs its default pipeline: the
envelope, validated path parameter, request id and security headers (sessions off, as for a JSON
API). Servers:

- uvicorn (httptools, uvloop, no access log): mega (``uvicorn --factory create_app``), Starlette,
  FastAPI, Litestar; a JSON hello and one path parameter. Targets: >= 0.90x Starlette, >= 2x
  FastAPI, >= 1.3x Litestar requests/s; p99 no worse than Starlette's + 1 ms.
- granian (one worker, ASGI, defaults): ``mega serve --server granian --no-access-log`` and bare
  BlackSheep (``--no-ws``, as mega serve without the ws plugin); the JSON hello. Targets: >= 1.4x
  mega on uvicorn, >= 0.9x BlackSheep.
- access lines on, written to a file: ``mega serve`` (uvicorn, log level info: mega's JSON access
  line with the request id) vs Starlette under ``uvicorn --access-log`` (uvicorn's own formatter);
  the JSON hello. Target: >= 0.9x.

Rounds interleave the servers (reversed every other round); each ratio is the median of
per-round ratios, figures are medians. Throughput on this 2-core machine swings by +-15% from
one 3 s run to the next (other services share the cores), so the figures also give each server's
CPU per request (``*_cpu_us``, its processes' user + system time over the run / requests), which
moves far less. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUTES = {"hello": "/hello", "param": "/items/42"}

MEGA_CONTROLLER = """
from mega.plugins.http import HttpCtx


class BenchController:
    async def hello(self, ctx: HttpCtx) -> dict:
        return {"message": "hello"}

    async def item(self, ctx: HttpCtx, item_id: int) -> dict:
        return {"id": item_id}
"""
MEGA_ROUTES = """
from mega.plugins.http import get

from apps.main.controllers.bench import BenchController

routes = [
    get("/hello", BenchController.hello, name="hello"),
    get("/items/{item_id}", BenchController.item, name="item"),
]
"""


#: server -> the routes it is measured on
SERVERS = {
    "mega": ("hello", "param"),
    "starlette": ("hello", "param"),
    "fastapi": ("hello", "param"),
    "litestar": ("hello", "param"),
    "mega_granian": ("hello",),
    "blacksheep_granian": ("hello",),
    "mega_logged": ("hello",),
    "starlette_logged": ("hello",),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mega_project(root: Path, log_level: str) -> Path:
    for rel, text in {
        "mega.toml": f'[app]\nname = "bench"\nplugins = ["http"]\nlog_level = "{log_level}"\n',
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/controllers/bench.py": MEGA_CONTROLLER,
        "apps/main/routes/bench.py": MEGA_ROUTES,
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def command(name: str, port: int, projects: dict[str, Path]) -> tuple[list[str], Path]:
    """The server's command line and working directory."""
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    quiet = ["--no-access-log", "--log-level", "warning"]
    # not cwd=bench/: this script's name would shadow the standard library's http package
    apps = HERE / "http_apps"
    if name == "mega":
        target = [
            "mega.plugins.http.asgi:create_app",
            "--factory",
            "--app-dir",
            str(projects["quiet"]),
        ]
        return [*uvicorn, *target, *quiet], projects["quiet"]
    if name in ("starlette", "fastapi", "litestar"):
        return [*uvicorn, f"{name}_app:app", "--app-dir", str(apps), *quiet], apps
    if name == "starlette_logged":  # uvicorn's default logging: its access formatter, stdout
        return [*uvicorn, "starlette_app:app", "--app-dir", str(apps), "--access-log"], apps
    serve = [sys.executable, "-m", "mega", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if name == "mega_granian":
        return [*serve, "--server", "granian", "--no-access-log"], projects["quiet"]
    if name == "mega_logged":
        return serve, projects["logged"]
    if name == "blacksheep_granian":
        granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--no-ws"]
        return [
            *granian,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "blacksheep_app:app",
        ], apps
    raise ValueError(name)


def start_server(
    name: str, projects: dict[str, Path], logs: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd, cwd = command(name, port, projects)
    # access lines go to a file, as a deployment's go to a collector (a pipe nobody reads
    # would fill and stall the server); startup errors can be read there too
    out = (logs / f"{name}.log").open("wb")
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=cwd, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                text = (logs / f"{name}.log").read_text()
                raise RuntimeError(f"{name} server died: {text}") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{name} server did not start")


def wrk(port: int, path: str, seconds: int) -> tuple[float, float]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            "-c64",
            f"-d{seconds}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a server has used so far, its worker processes
    included (granian serves from a child of the process started)."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += map(int, (task / "children").read_text().split())
        except OSError:  # it ended in the meantime
            continue
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (< 60 s)")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("bench/http.py needs wrk and taskset: apt-get install wrk util-linux")
    rounds, seconds = (2, 2) if args.quick else (7, 3)
    servers = list(SERVERS)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {
        s: {r: [] for r in SERVERS[s]} for s in servers
    }
    #: server CPU per request (us), each run: steadier than throughput on a shared machine
    cpu_us: dict[str, dict[str, list[float]]] = {s: {r: [] for r in SERVERS[s]} for s in servers}
    with tempfile.TemporaryDirectory() as tmp:
        projects = {
            "quiet": mega_project(Path(tmp) / "quiet", "warning"),
            "logged": mega_project(Path(tmp) / "logged", "info"),
        }
        logs = Path(tmp) / "logs"
        logs.mkdir()
        procs = {}
        try:
            for name in servers:
                procs[name] = start_server(name, projects, logs)
            for _, port in procs.values():  # warm up
                wrk(port, ROUTES["hello"], 1)
            for i in range(rounds):
                order = servers if i % 2 == 0 else list(reversed(servers))
                for name in order:
                    for route in SERVERS[name]:
                        proc, port = procs[name]
                        before = cpu_seconds(proc.pid)
                        rps_p99 = wrk(port, ROUTES[route], seconds)
                        spent = cpu_seconds(proc.pid) - before
                        results[name][route].append(rps_p99)
                        cpu_us[name][route].append(spent / (rps_p99[0] * seconds) * 1e6)
            logged = (logs / "mega_logged.log").read_text().splitlines()
            access = [line for line in logged if '"uvicorn.access"' in line]
            assert access and '"request_id"' in access[-1], "mega_logged wrote no access line"
        finally:
            for proc, _ in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc, _ in procs.values():
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    med = statistics.median

    def rps(name: str, route: str) -> float:
        return med(r for r, _ in results[name][route])

    def p99(name: str, route: str) -> float:
        return med(p for _, p in results[name][route])

    def paired(name: str, peer: str, route: str) -> float:
        # each round ran the servers back to back: the median of per-round ratios cancels the
        # slow drifts of this machine's throughput (±8% between whole runs)
        pairs = zip(results[name][route], results[peer][route], strict=True)
        return med(m / o for (m, _), (o, _) in pairs)

    def paired_p99(route: str) -> float:
        pairs = zip(results["mega"][route], results["starlette"][route], strict=True)
        return med(m - o for (_, m), (_, o) in pairs)

    ratios, figures, targets = {}, {}, {}
    for route in ("hello", "param"):
        for peer in ("starlette", "fastapi", "litestar"):
            ratios[f"{route}_vs_{peer}"] = round(paired("mega", peer, route), 3)
        ratios[f"{route}_p99_extra_ms"] = round(paired_p99(route), 3)
        targets |= {
            f"{route}_vs_starlette": ">=0.9",
            f"{route}_vs_fastapi": ">=2.0",
            f"{route}_vs_litestar": ">=1.3",
            f"{route}_p99_extra_ms": "<=1.0",
        }
    for key, (name, peer), target in (
        ("hello_granian_vs_uvicorn", ("mega_granian", "mega"), ">=1.4"),
        ("hello_granian_vs_blacksheep", ("mega_granian", "blacksheep_granian"), ">=0.9"),
        ("hello_logged_vs_starlette_logged", ("mega_logged", "starlette_logged"), ">=0.9"),
    ):
        ratios[key] = round(paired(name, peer, "hello"), 3)
        targets[key] = target
    for name in servers:
        for route in SERVERS[name]:
            figures[f"{name}_{route}_rps"] = round(rps(name, route))
            figures[f"{name}_{route}_p99_ms"] = round(p99(name, route), 3)
            figures[f"{name}_{route}_cpu_us"] = round(med(cpu_us[name][route]), 1)
    passed = all(
        (ratios[k] <= float(t[2:])) if t.startswith("<=") else (ratios[k] >= float(t[2:]))
        for k, t in targets.items()
    )
    figures["rounds"], figures["seconds_per_run"] = rounds, seconds
    print(
        json.dumps(
            {
                "bench": "http",
                "ratios": ratios,
                "targets": targets,
                "figures": figures,
                "pass": passed,
            }
        )
    )


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
