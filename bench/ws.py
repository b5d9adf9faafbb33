"""WebSocket broadcast cost and dead-node cleanup, against a bare server measured in the same run.

(a) Broadcast: the server process pinned to core 0, 1 000 clients (plus the sender) in this
    process pinned to core 1. A paced sender asks the server to broadcast a ~100-byte message to
    every client: mega (uvicorn, uvloop, a channel whose on_message calls ctx.broadcast; the
    frame is built once) vs a bare `websockets` server calling ``broadcast()`` on what it
    receives (bench/_ws_bare.py), the same bytes on the wire, compression off on both. Server
    CPU per delivered message comes from /proc/<pid>/task/*/schedstat; latency from the send
    time carried in the payload (CLOCK_MONOTONIC is system-wide). Rounds interleave.
    Target: mega <= 1.3x the bare server's CPU per message.
(b) Dead node: two mega nodes linked by the real NATS with default timing (heartbeat 1 s, down
    after 5 s); a client on each joins a room; the second node is SIGKILLed; the time until the
    first node's client sees the other user leave. Target <= 6 s (Phoenix: 30 s, Centrifugo 60 s).

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# bench/http.py would shadow the standard library's http: the script's folder goes last
sys.path[:] = [p for p in sys.path if p != str(BENCH_DIR)] + [str(BENCH_DIR)]

import orjson  # noqa: E402
import uvloop  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

CHANNEL = """
from mega.plugins.ws import Channel


class BenchChannel(Channel):
    topic = "bench"

    async def on_message(self, ctx, event, payload):
        await ctx.broadcast("bench", event, payload)


class RoomChannel(Channel):
    topic = "room:{id}"

    async def on_join(self, ctx, payload):
        ctx.track(key=payload["user"], meta={})
"""

PAD = "x" * 40  # makes the delivered frame ~100 bytes


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(root: Path, extra: str = "") -> Path:
    files = {
        "mega.toml": '[app]\nname = "wsbench"\nplugins = ["http", "ws"]\nlog_level = "warning"\n'
        + extra,
        "apps/__init__.py": "",
        "apps/main/__init__.py": "",
        "apps/main/channels/bench.py": CHANNEL,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _start(cmd: list[str], cwd: Path, port: int, core: int | None) -> subprocess.Popen[bytes]:
    if core is not None:
        cmd = ["taskset", "-c", str(core), *cmd]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{cmd} did not listen on {port}")


def _mega_server(project: Path, port: int, core: int | None) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "uvicorn", "mega.plugins.http.asgi:create_app", "--factory",
        "--app-dir", str(project), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
    ]  # fmt: skip
    return _start(cmd, project, port, core)


def _cpu_seconds(pid: int) -> float:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


class Side:
    """One server and its connected clients; counts deliveries and their latency."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], port: int, mega: bool) -> None:
        self.name = name
        self.proc = proc
        self.url = f"ws://127.0.0.1:{port}/ws" if mega else f"ws://127.0.0.1:{port}/"
        self.mega = mega
        self.clients: list = []
        self.delivered = 0
        self.latencies: list[float] = []
        self.readers: list[asyncio.Task] = []
        self.expected = 0
        self.arrived = asyncio.Event()

    async def connect(self, n: int) -> None:
        for i in range(n + 1):  # the last one also sends
            ws = await connect(self.url, compression=None, max_size=None, open_timeout=30)
            if self.mega:
                join = {
                    "type": "join",
                    "topic": "bench",
                    "ref": "1",
                    "payload": {"presence": "none"},
                }
                await ws.send(json.dumps(join))
                await ws.recv()  # the join reply
            self.clients.append(ws)
            if i % 100 == 0:
                await asyncio.sleep(0)
        self.readers = [asyncio.ensure_future(self._read(ws)) for ws in self.clients]

    async def _read(self, ws) -> None:
        loads, now = orjson.loads, time.monotonic
        async for message in ws:
            self.latencies.append(now() - loads(message)["payload"]["t"])
            self.delivered += 1
            if self.delivered == self.expected:
                self.arrived.set()

    def frame(self) -> str:
        """What the sender sends: mega's event frame. mega parses it and broadcasts a frame
        of the same shape; the bare server forwards it as is, so both deliver the same bytes."""
        payload = {"t": time.monotonic(), "pad": PAD}
        return json.dumps({"type": "event", "topic": "bench", "event": "m", "payload": payload})

    async def window(self, broadcasts: int, rate: float) -> float:
        """Paced broadcasts; returns server CPU microseconds per delivered message."""
        receivers = len(self.clients)
        self.latencies.clear()
        start_count = self.delivered
        expected = self.expected = start_count + broadcasts * receivers
        self.arrived.clear()
        cpu_before = _cpu_seconds(self.proc.pid)
        sender = self.clients[-1]
        started = time.monotonic()
        for i in range(broadcasts):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            await sender.send(self.frame())
        try:
            async with asyncio.timeout(30):
                await self.arrived.wait()
        except TimeoutError:
            pass
        cpu = _cpu_seconds(self.proc.pid) - cpu_before
        if self.delivered < expected:
            raise RuntimeError(f"{self.name}: {self.delivered - start_count} of {expected} arrived")
        return cpu / (broadcasts * receivers) * 1e6

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.clients), return_exceptions=True)


async def broadcast_bench(rounds: int, clients: int, broadcasts: int, rate: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        project = _project(Path(tmp) / "mega")
        mega_port, bare_port = _port(), _port()
        mega = Side("mega", _mega_server(project, mega_port, 0), mega_port, True)
        # -P: the script folder is not put on sys.path (bench/http.py would shadow http)
        bare_cmd = [sys.executable, "-P", str(BENCH_DIR / "_ws_bare.py"), str(bare_port)]
        bare = Side("bare", _start(bare_cmd, BENCH_DIR, bare_port, 0), bare_port, False)
        sides = (mega, bare)
        try:
            for side in sides:
                await side.connect(clients)
            for side in sides:
                await side.window(max(5, broadcasts // 5), rate)  # warm up
            cpu: dict[str, list[float]] = {"mega": [], "bare": []}
            latency: dict[str, list[float]] = {"mega": [], "bare": []}
            for _ in range(rounds):
                for side in sides:
                    cpu[side.name].append(await side.window(broadcasts, rate))
                    latency[side.name].extend(side.latencies)
        finally:
            for side in sides:
                await side.close()
                side.proc.send_signal(signal.SIGTERM)
            for side in sides:
                try:
                    side.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    side.proc.kill()
    ratio = statistics.median(m / b for m, b in zip(cpu["mega"], cpu["bare"], strict=True))

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "ratio": round(ratio, 3),
        "mega_cpu_us_per_message": round(statistics.median(cpu["mega"]), 3),
        "bare_cpu_us_per_message": round(statistics.median(cpu["bare"]), 3),
        "mega_p50_ms": pct(latency["mega"], 0.50),
        "mega_p99_ms": pct(latency["mega"], 0.99),
        "bare_p50_ms": pct(latency["bare"], 0.50),
        "bare_p99_ms": pct(latency["bare"], 0.99),
        "receivers": clients + 1,
        "broadcasts_per_s": rate,
    }


async def dead_node_bench() -> float:
    """Seconds from SIGKILL of one node to the other node's client seeing its user leave."""
    link = '\n[adapters.presence.default]\ndriver = "nats"\nservers = ["nats://127.0.0.1:4222"]\n'
    with tempfile.TemporaryDirectory() as tmp:
        project = _project(Path(tmp) / "nodes", link)
        ports = [_port(), _port()]
        procs = [_mega_server(project, port, None) for port in ports]
        try:
            a = await connect(f"ws://127.0.0.1:{ports[0]}/ws", compression=None)
            b = await connect(f"ws://127.0.0.1:{ports[1]}/ws", compression=None)
            present: set[str] = set()
            changed = asyncio.Event()

            async def watch() -> None:
                async for text in a:
                    frame = orjson.loads(text)
                    if frame["type"] == "presence_state":
                        present.clear()
                        present.update(frame["payload"])
                    elif frame["type"] == "presence_diff":
                        present.update(frame["payload"]["joins"])
                        present.difference_update(frame["payload"]["leaves"])
                    changed.set()

            watcher = asyncio.ensure_future(watch())
            for ws, user in ((a, "a"), (b, "b")):
                await ws.send(
                    json.dumps(
                        {"type": "join", "topic": "room:1", "ref": "1", "payload": {"user": user}}
                    )
                )
            async with asyncio.timeout(15):
                while present != {"a", "b"}:
                    changed.clear()
                    await changed.wait()
            procs[1].kill()
            killed = time.monotonic()
            async with asyncio.timeout(30):
                while present != {"a"}:
                    changed.clear()
                    await changed.wait()
            cleared = time.monotonic() - killed
            watcher.cancel()
            await a.close()
            return cleared
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the clients; the servers run on core 0
    rounds, broadcasts = (3, 40) if args.quick else (7, 100)
    broadcast = uvloop.run(broadcast_bench(rounds, 1_000, broadcasts, rate=20.0))
    os.sched_setaffinity(0, {0, 1})
    cleared_s = uvloop.run(dead_node_bench())
    ratios = {
        "broadcast_cpu_vs_bare": broadcast["ratio"],
        "dead_node_cleared_s": round(cleared_s, 2),
    }
    targets = {"broadcast_cpu_vs_bare": "<=1.3", "dead_node_cleared_s": "<=6.0"}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures = {k: v for k, v in broadcast.items() if k != "ratio"}
    for name, value in ratios.items():
        print(f"{name:24s} {value:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:26s} {value}")
    result = {"bench": "ws", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps({**result, "pass": all(met.values())}))


if __name__ == "__main__":
    main()
