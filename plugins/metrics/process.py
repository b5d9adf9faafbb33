"""Process and interpreter gauges, read at scrape time (nothing runs between scrapes).

For Python the seed's heap breakdown becomes: resident memory, ``gc`` counts and collections per
generation, and ``sys.getallocatedblocks()`` — never tracemalloc, which slows every allocation.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from typing import Any

from .exposition import Family

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_START = time.time()
_START_MONOTONIC = time.monotonic()  # uptime must not jump with the wall clock


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm", "rb") as f:
            return float(int(f.read().split()[1]) * _PAGE)
    except OSError:  # not Linux: the peak is what getrusage has
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def _open_fds() -> float:
    try:
        return float(len(os.listdir("/proc/self/fd")))
    except OSError:
        return float("nan")


def process_families() -> list[Family]:
    stats = gc.get_stats()
    counts = gc.get_count()
    gens = [{"generation": str(i)} for i in range(len(stats))]
    return [
        Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               [({}, _rss_bytes())]),
        Family("process_cpu_seconds", "counter", "User and system CPU time spent, in seconds.",
               [({}, time.process_time())]),
        Family("process_open_fds", "gauge", "Open file descriptors.", [({}, _open_fds())]),
        Family("process_start_time_seconds", "gauge", "Start time of the process (unix time).",
               [({}, _START)]),
        Family("process_uptime_seconds", "gauge", "Time since the process started, in seconds.",
               [({}, time.monotonic() - _START_MONOTONIC)]),
        Family("python_gc_objects", "gauge", "Objects tracked by the collector, per generation.",
               [(g, float(c)) for g, c in zip(gens, counts, strict=False)]),
        Family("python_gc_collections", "counter", "Collections run, per generation.",
               [(g, float(s["collections"])) for g, s in zip(gens, stats, strict=True)]),
        Family("python_gc_objects_collected", "counter", "Objects collected, per generation.",
               [(g, float(s["collected"])) for g, s in zip(gens, stats, strict=True)]),
        Family("python_allocated_blocks", "gauge", "Memory blocks allocated by the interpreter.",
               [({}, float(sys.getallocatedblocks()))]),
    ]  # fmt: skip


def pool_families(app: Any) -> list[Family]:
    """``mega_db_pool_connections{alias, state}``: open connections per db adapter, busy/idle."""
    samples = []
    for (kind, alias), adapter in app.adapters.items():
        stats = getattr(adapter, "pool_stats", None)
        if kind != "db" or stats is None:
            continue
        found = stats()
        if found:
            idle = float(found["idle"])
            samples.append(({"alias": alias, "state": "idle"}, idle))
            samples.append(({"alias": alias, "state": "busy"}, float(found["size"]) - idle))
    if not samples:
        return []
    return [Family("mega_db_pool_connections", "gauge", "Database pool connections, by state.",
                   samples)]  # fmt: skip
