"""WebSocket presence cost as a curve of a topic's size: 10 vs 10 000 members, same run.

The ws plugin's ``Presence`` (plugins/ws/presence.py) is driven directly, its hub replaced by a
stand-in that records frames: one topic holds N members (one connection each), one subscriber
gets full diffs and one gets counts (the fan-out stays two frames whatever N is). Measured, in
CPU time per operation, rounds interleaving the two sizes:

- ``local``: one node; a member joins (``track``), the tick sends its diff (``flush``), it leaves,
  the next tick sends that diff.
- ``cluster_local`` / ``cluster_remote``: two nodes, the N members split between them; a member
  joins and leaves on this node, or on the other (a delta message received, then the tick).
- ``state_full`` / ``state_counts``: what a joining client is sent first (figures).

Large-room coalescing is off (``large_room`` above N) so both sizes send the same frames.
What the curves should look like: a join or a leave touches one member, so ``local`` and both
``cluster`` curves should be flat; the full state lists every member, so it is linear (that is
its payload); the count is a number and should not be.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http (starlette imports it): the script's
# own folder goes after the standard library
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

from mega.plugins.ws.presence import Presence  # noqa: E402  (after the path fix)
from mega.plugins.ws.settings import WsSettings  # noqa: E402

SMALL, LARGE = 10, 10_000
TOPIC = "room:1"


class Conn:
    """A connected client as presence sees it: an id and a frame sink."""

    __slots__ = ("frames", "id")

    def __init__(self, conn_id: str) -> None:
        self.id = conn_id
        self.frames = 0

    def send_frame(self, frame: str) -> None:
        self.frames += 1


class Joined:
    __slots__ = ("presence",)

    def __init__(self, presence: str) -> None:
        self.presence = presence


class Hub:
    """What ``Presence`` uses of the ws hub; cluster messages are counted, not sent."""

    def __init__(self, node_id: str) -> None:
        self.settings = WsSettings(large_room=10 * LARGE)
        self.node_id = node_id
        self.subscribers: dict[str, dict[Any, Any]] = {}
        self.sent = 0

    def send_to_cluster(self, data: bytes, *, to: str | None = None) -> None:
        self.sent += 1

    def node_up(self, node: str) -> None:
        pass

    def node_down(self, node: str, reason: str, keys: int) -> None:
        pass


def tick(presence: Presence) -> None:
    """The tick a change scheduled, run now (its timer cancelled)."""
    handle = presence._flush_handle
    if handle is not None:
        handle.cancel()
    presence.flush()


def topic_of(members: int, *, remote_share: int) -> tuple[Presence, int]:
    """A presence whose topic holds ``members`` members, ``remote_share`` of them on another
    node; returns it and the other node's delta clock."""
    hub = Hub("here")
    presence = Presence(hub)  # type: ignore[arg-type]  # the hub stand-in above
    hub.subscribers[TOPIC] = {Conn("full"): Joined("full"), Conn("counts"): Joined("counts")}
    for i in range(members - remote_share):
        presence.track(Conn(f"c{i}"), TOPIC, f"user{i}", {"name": f"user {i}"})  # type: ignore[arg-type]
    tick(presence)
    if remote_share:
        entries = {
            TOPIC: {f"remote{i}": {f"there.{i}": {"name": f"r {i}"}} for i in range(remote_share)}
        }
        presence.receive({"t": "s", "n": "there", "c": 1, "e": entries})
        tick(presence)
    return presence, 1


def local_op(presence: Presence) -> Callable[[], None]:
    conn = Conn("newcomer")

    def op() -> None:
        presence.track(conn, TOPIC, "newcomer", {"name": "new"})  # type: ignore[arg-type]
        tick(presence)
        presence.untrack(conn)  # type: ignore[arg-type]
        tick(presence)

    return op


def remote_op(presence: Presence, clock: int) -> Callable[[], None]:
    state = {"clock": clock}

    def op() -> None:
        c = state["clock"]
        join = {TOPIC: {"visitor": {f"there.v{c}": {"name": "visitor"}}}}
        presence.receive({"t": "d", "n": "there", "c": c + 1, "j": join, "l": {}})
        tick(presence)
        leave = {TOPIC: {"visitor": [f"there.v{c}"]}}
        presence.receive({"t": "d", "n": "there", "c": c + 2, "j": {}, "l": leave})
        tick(presence)
        state["clock"] = c + 2

    return op


def state_op(presence: Presence, mode: str) -> Callable[[], None]:
    def op() -> None:
        presence.state_frame(TOPIC, mode)

    return op


def timed(op: Callable[[], None], n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        op()
    return (time.process_time() - started) / n * 1e6


async def measure(rounds: int, n: int) -> dict[str, dict[int, list[float]]]:
    ops: dict[str, dict[int, Callable[[], None]]] = {
        "local": {},
        "cluster_local": {},
        "cluster_remote": {},
        "state_full": {},
        "state_counts": {},
    }
    for size in (SMALL, LARGE):
        single, _ = topic_of(size, remote_share=0)
        cluster, clock = topic_of(size, remote_share=size // 2)
        assert single.count(TOPIC) == size and cluster.count(TOPIC) == size
        ops["local"][size] = local_op(single)
        ops["cluster_local"][size] = local_op(cluster)
        ops["cluster_remote"][size] = remote_op(cluster, clock)
        ops["state_full"][size] = state_op(cluster, "full")
        ops["state_counts"][size] = state_op(cluster, "counts")
    cpu: dict[str, dict[int, list[float]]] = {k: {SMALL: [], LARGE: []} for k in ops}
    for kind, by_size in ops.items():  # warm up
        for op in by_size.values():
            timed(op, max(1, n // 100) if kind == "state_full" else max(1, n // 10))
    for r in range(rounds):
        for kind, by_size in ops.items():
            calls = max(1, n // 100) if kind == "state_full" else n
            for size in (SMALL, LARGE) if r % 2 else (LARGE, SMALL):
                cpu[kind][size].append(timed(by_size[size], calls))
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds, n = (7, 300) if args.quick else (21, 1_000)
    cpu = asyncio.run(measure(rounds, n))
    med = statistics.median

    def ratio(kind: str) -> float:
        by_size = cpu[kind]
        return round(med(b / a for a, b in zip(by_size[SMALL], by_size[LARGE], strict=True)), 3)

    flat = ("local", "cluster_local", "cluster_remote", "state_counts")
    ratios = {f"{kind}_{LARGE}_vs_{SMALL}": ratio(kind) for kind in flat}
    targets = {name: "<=1.5" for name in ratios}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures: dict[str, Any] = {
        f"{kind}_us": {size: round(med(v), 2) for size, v in by_size.items()}
        for kind, by_size in cpu.items()
    }
    figures[f"state_full_{LARGE}_vs_{SMALL}"] = ratio("state_full")
    figures["rounds"] = rounds
    for name, value in ratios.items():
        print(f"{name:32s} {value:9.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:32s} {value}")
    result = {"bench": "curves_presence", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": all(met.values())}))


if __name__ == "__main__":
    main()
