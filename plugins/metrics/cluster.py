"""One scrape for every worker of ``mega serve --workers N`` (the seed's cluster metrics).

``mega serve`` gives its workers a private directory (``MEGA_SERVE_WORKERS_DIR``). Each worker
listens there on a Unix socket named after its pid and answers a connection with its own
families as JSON. The worker a scrape lands on asks every socket in the directory at once (each
within ``PEER_TIMEOUT_S``), adds what they say to its own and renders the sum:

- counters and histograms (buckets, sums) are summed series by series;
- gauges keep one series per worker (a ``worker`` label: memory or connections per process
  mean something; their sum across processes often does not).

Nothing is written to disk but the sockets: no files of dead processes to merge, no mmap'd
values that outlive a restart (prometheus_client's multiprocess-mode pitfalls). A worker that
died leaves a socket nobody answers on; the first scrape that finds it removes it. Its counts
leave the sum with it, which Prometheus reads as a counter reset, as it should.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from pathlib import Path
from typing import Any

import orjson

from mega import get_logger
from mega.plugins.http import WORKERS_DIR_ENV

from .exposition import Family

PEER_TIMEOUT_S = 1.0


def peers_dir() -> Path | None:
    """The directory ``mega serve`` shares between its workers, if this process is one."""
    value = os.environ.get(WORKERS_DIR_ENV)
    return Path(value) if value else None


def _forget(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _encode(families: list[Family]) -> bytes:
    return orjson.dumps([list(f) for f in families])


def _decode(data: bytes) -> list[Family]:
    return [Family(name, kind, help, samples) for name, kind, help, samples in orjson.loads(data)]


class PeerServer:
    """This worker's socket: answers each connection with its families."""

    def __init__(self, directory: Path, collect: Any) -> None:
        self.path = directory / f"{os.getpid()}.sock"
        self.collect = collect  # () -> list[Family], called on the loop
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        _forget(self.path)  # a previous process with this pid
        self._server = await asyncio.start_unix_server(self._answer, path=str(self.path))

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(_encode(self.collect()))
            await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        _forget(self.path)


async def _ask(path: Path) -> list[Family] | None:
    try:
        async with asyncio.timeout(PEER_TIMEOUT_S):
            reader, writer = await asyncio.open_unix_connection(str(path))
            try:
                return _decode(await reader.read())
            finally:
                writer.close()
    except (ConnectionRefusedError, FileNotFoundError):
        _forget(path)  # its worker is gone
        return None
    except (TimeoutError, OSError, ValueError) as exc:
        get_logger(plugin="metrics").warning(
            "metrics.peer_unanswered", peer=path.name, error=repr(exc)
        )
        return None


async def gather_peers(own: Path) -> list[tuple[str, list[Family]]]:
    """Every other worker's families, with its pid."""
    others = [p for p in own.parent.glob("*.sock") if p != own]
    answers = await asyncio.gather(*(_ask(p) for p in others))
    return [(p.stem, a) for p, a in zip(others, answers, strict=True) if a is not None]


def merge(per_worker: list[tuple[str, list[Family]]]) -> list[Family]:
    """Sum counters and histograms series by series; label gauges with their worker."""
    # Merging builds a few containers per series and keeps them all, none in a cycle: with the
    # collector on, its passes over what was merged so far made the cost per series grow with
    # the series (bench/curves_scrape.py: 1.76x per series at 10x the series, 1.12x without).
    # Nothing else runs on the loop meanwhile (no await in here).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _merge(per_worker)
    finally:
        if collecting:
            gc.enable()


def _merge(per_worker: list[tuple[str, list[Family]]]) -> list[Family]:
    merged: dict[str, tuple[Family, dict[tuple[tuple[str, str], ...], Any]]] = {}
    for worker, families in per_worker:
        for family in families:
            entry = merged.get(family.name)
            if entry is None:
                entry = merged[family.name] = (family, {})
            first, series = entry
            if family.kind != first.kind:
                continue  # a worker running other code; its series would not add up
            for labels, value in family.samples:
                if family.kind == "gauge":
                    labels = {**labels, "worker": worker}
                key = tuple(sorted(labels.items()))
                held = series.get(key)
                if held is None:
                    series[key] = (labels, _copy(value))
                elif family.kind == "histogram":
                    counts, total, bounds, exemplars = held[1]
                    if list(bounds) == list(value[2]):
                        summed = [a + b for a, b in zip(counts, value[0], strict=True)]
                        series[key] = (
                            labels,
                            (summed, total + value[1], bounds, _latest(exemplars, value[3])),
                        )
                else:
                    series[key] = (labels, held[1] + value)
    return [
        Family(first.name, first.kind, first.help, list(series.values()))
        for first, series in merged.values()
    ]


def _copy(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 4:
        counts, total, bounds, exemplars = value
        return (list(counts), total, bounds, exemplars)
    return value


def _latest(mine: list[Any] | None, theirs: list[Any] | None) -> list[Any] | None:
    """Per bucket, the more recent exemplar of two workers."""
    if mine is None or theirs is None:
        return mine if theirs is None else theirs
    return [
        a if b is None or (a is not None and a[3] >= b[3]) else b
        for a, b in zip(mine, theirs, strict=True)
    ]
