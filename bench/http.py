"""HTTP throughput: mega's full default pipeline vs bare Starlette, FastAPI and Litestar.

Every server is uvicorn (httptools, uvloop, no access log) pinned to core 0; the load generator
(wrk, from Debian's package) is pinned to core 1. Two routes: a JSON hello and one path
parameter. mega runs its default pipeline: the envelope, validated path parameter, request id and
security headers (sessions off, as for a JSON API). Rounds interleave the servers; each ratio is
the median of per-round ratios, figures are medians. Targets: >= 0.90x Starlette, >= 2x FastAPI,
>= 1.3x Litestar requests/s; p99 no worse than Starlette's + 1 ms. Last line: one JSON object.
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mega_project(root: Path) -> Path:
    for rel, text in {
        "mega.toml": '[app]\nname = "bench"\nplugins = ["http"]\nlog_level = "warning"\n',
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/controllers/bench.py": MEGA_CONTROLLER,
        "apps/main/routes/bench.py": MEGA_ROUTES,
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def start_server(name: str, project: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    common = [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    if name == "mega":
        target = ["mega.plugins.http.asgi:create_app", "--factory", "--app-dir", str(project)]
        cwd = project
    else:
        # not cwd=bench/: this script's name would shadow the standard library's http package
        target = [f"{name}_app:app", "--app-dir", str(HERE / "http_apps")]
        cwd = HERE / "http_apps"
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", *target, *common]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} server died: {proc.stderr.read().decode()}") from None
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (< 60 s)")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("bench/http.py needs wrk and taskset: apt-get install wrk util-linux")
    rounds, seconds = (3, 2) if args.quick else (7, 3)
    servers = ["mega", "starlette", "fastapi", "litestar"]
    results: dict[str, dict[str, list[tuple[float, float]]]] = {
        s: {r: [] for r in ROUTES} for s in servers
    }
    with tempfile.TemporaryDirectory() as tmp:
        project = mega_project(Path(tmp))
        procs = {}
        try:
            for name in servers:
                procs[name] = start_server(name, project)
            for _, port in procs.values():  # warm up
                wrk(port, ROUTES["hello"], 1)
            for i in range(rounds):
                order = servers if i % 2 == 0 else list(reversed(servers))
                for name in order:
                    for route, path in ROUTES.items():
                        results[name][route].append(wrk(procs[name][1], path, seconds))
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

    def paired(name: str, route: str) -> float:
        # each round ran the servers back to back: the median of per-round ratios cancels the
        # slow drifts of this machine's throughput (±8% between whole runs)
        pairs = zip(results["mega"][route], results[name][route], strict=True)
        return med(m / o for (m, _), (o, _) in pairs)

    def paired_p99(route: str) -> float:
        pairs = zip(results["mega"][route], results["starlette"][route], strict=True)
        return med(m - o for (_, m), (_, o) in pairs)

    ratios, figures = {}, {}
    for route in ROUTES:
        for peer in ("starlette", "fastapi", "litestar"):
            ratios[f"{route}_vs_{peer}"] = round(paired(peer, route), 3)
        ratios[f"{route}_p99_extra_ms"] = round(paired_p99(route), 3)
        for name in servers:
            figures[f"{name}_{route}_rps"] = round(rps(name, route))
            figures[f"{name}_{route}_p99_ms"] = round(p99(name, route), 3)
    targets = {}
    for route in ROUTES:
        targets |= {
            f"{route}_vs_starlette": ">=0.9",
            f"{route}_vs_fastapi": ">=2.0",
            f"{route}_vs_litestar": ">=1.3",
            f"{route}_p99_extra_ms": "<=1.0",
        }
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
