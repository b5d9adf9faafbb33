"""What the secure protocol adds to a message, against the bare AES-256-GCM call in the same run.

A message is a 1 KB JSON payload. Bare: ``AESGCM.encrypt`` then ``AESGCM.decrypt`` with a fresh
12-byte nonce and a fixed associated data — the crypto alone. mega: what a sealed request costs
both ends beyond HTTP — the client seals it (associated data from method, path, timestamp and key
id; the envelope's JSON with base64url fields), the server parses the envelope, resolves the key,
checks the timestamp, opens it and records the nonce in the replay cache (the memory cache
adapter: one atomic ``incr``). Rounds interleave the two loops (their order alternates), garbage
collection is off inside a round, and the figure is the median over rounds.

With ``--redis`` the replay cache is Redis on 127.0.0.1:6379 (a network round trip per message),
reported as a figure only.

Target: a sealed message costs <= 10x the bare encrypt+decrypt and <= 25 us more. Last line:
one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

# bench/http.py would shadow the stdlib's http (which the http plugin imports): this folder last
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if p != BENCH_DIR] + [BENCH_DIR]

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from mega.plugins.secure import Envelope, request_aad, runtime_of, seal  # noqa: E402
from mega.testing import boot_app  # noqa: E402

PAYLOAD = json.dumps({"text": "x" * 1000, "n": 1}).encode()[:1024]
KID = "bench-1"
PATH = "/api/secure/notes"


def config(key: bytes, redis: bool) -> dict[str, Any]:
    cache: dict[str, Any] = {"driver": "memory", "max_entries": 2_000_000}
    if redis:
        cache = {"driver": "redis", "url": "redis://127.0.0.1:6379/0",
                 "key_prefix": f"mega-bench-secure-{os.getpid()}:"}  # fmt: skip
    return {
        "app": {"plugins": ["memory", "redis", "http", "secure"]},
        "adapters": {"cache": {"default": cache}},
        "plugins": {
            "secure": {"clients": {"bench": {"keys": {KID: base64.b64encode(key).decode()}}}}
        },
    }


def bare(key: bytes) -> Callable[[int], Awaitable[float]]:
    aead = AESGCM(key)
    aad = b"mega-secure/1\nreq\nPOST\n/api/secure/notes\n0\nbench-1"

    async def loop(n: int) -> float:
        payload, urandom = PAYLOAD, os.urandom
        started = time.perf_counter()
        for _ in range(n):
            nonce = urandom(12)
            sealed = aead.encrypt(nonce, payload, aad)
            aead.decrypt(nonce, sealed, aad)
        return time.perf_counter() - started

    return loop


def protocol(key: bytes, app: Any) -> Callable[[int], Awaitable[float]]:
    aead = AESGCM(key)
    runtime = runtime_of(app)

    async def loop(n: int) -> float:
        payload, urandom, clock = PAYLOAD, os.urandom, runtime.clock
        started = time.perf_counter()
        for _ in range(n):
            # the client
            ts = clock()
            wire = seal(aead, KID, payload, request_aad("POST", PATH, ts, KID), ts, urandom(12))
            data = wire.dumps()
            # the server
            envelope = Envelope.loads(data)
            opened, _key = await runtime.open(
                envelope, request_aad("POST", PATH, envelope.ts, envelope.kid)
            )
        assert opened == payload
        return time.perf_counter() - started

    return loop


async def measure(rounds: int, n: int, redis: bool) -> dict[str, list[float]]:
    key = os.urandom(32)
    async with boot_app(config(key, redis), environ={}) as app:
        loops = {"bare": bare(key), "mega": protocol(key, app)}
        for loop in loops.values():  # warm up
            await loop(max(n // 10, 10))
        times: dict[str, list[float]] = {name: [] for name in loops}
        gc.disable()  # a collection landing in one loop but not the other is noise, not cost
        try:
            for r in range(rounds):
                for name in ("bare", "mega") if r % 2 == 0 else ("mega", "bare"):
                    times[name].append(await loops[name](n) / n * 1e6)
                gc.collect()
        finally:
            gc.enable()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a few seconds)")
    parser.add_argument("--redis", action="store_true", help="the replay cache on Redis")
    args = parser.parse_args()
    rounds, n = (15, 2_000) if args.quick else (41, 5_000)
    if args.redis:
        n //= 10
    times = asyncio.run(measure(rounds, n, args.redis))
    bare_us = statistics.median(times["bare"])
    mega_us = statistics.median(times["mega"])
    ratios_per_round = [m / b for m, b in zip(times["mega"], times["bare"], strict=True)]
    ratio = statistics.median(ratios_per_round)
    overhead = mega_us - bare_us
    cache = "redis" if args.redis else "memory"
    print(f"1 KB payload, {rounds} rounds of {n} messages, replay cache: {cache}")
    print(f"bare AESGCM encrypt+decrypt: {bare_us:.2f} us per message")
    print(f"mega seal + open + replay check: {mega_us:.2f} us per message (+{overhead:.2f} us)")
    ratios = {"message_vs_bare_aesgcm": round(ratio, 2)}
    targets = {"message_vs_bare_aesgcm": "<=10"}
    figures: dict[str, Any] = {
        "bare_us": round(bare_us, 2),
        "mega_us": round(mega_us, 2),
        "overhead_us": round(overhead, 2),
        "payload_bytes": len(PAYLOAD),
        "replay_cache": cache,
        "rounds": rounds,
        "messages_per_round": n,
    }
    if args.redis:  # a network round trip per message: figures, no target
        targets = {}
        passed = True
    else:
        ratios["overhead_us"] = round(overhead, 2)
        targets["overhead_us"] = "<=25"
        passed = ratio <= 10 and overhead <= 25
    result = {"bench": "secure", "ratios": ratios, "targets": targets, "figures": figures}
    print(json.dumps(result | {"pass": passed}))


if __name__ == "__main__":
    main()
