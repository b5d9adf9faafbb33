"""Migration diff cost as a curve of the model count: 200 vs 2 000 models, same run.

The models are bench/migrations.py's: 10 columns, an index, a unique column and a foreign key
to the previous model each. Two operations, rounds interleaving the two sizes:

- ``noop``: load the journal snapshot and diff it against the models, nothing changed (what
  ``mega migrate make`` does most of the time);
- ``initial``: diff from an empty journal and render the migration file.
- ``forward_fks``: the initial diff alone, 100 vs 400 smaller models (3 columns) whose foreign
  key points at the *next* table in name order (``orders`` -> ``users``: a table referencing one
  that sorts after it), the order the creates must be put in.

What the curves should look like: linear in the models — every model is read, compared and
written once, and ordering creates by their foreign keys is a topological sort — so the time
per model stays flat and each ratio (per model at the larger size over per model at the
smaller) stays near 1. A ratio near the size ratio (10, or 4) means the work is quadratic.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SMALL, LARGE = 200, 2_000
FK_SMALL, FK_LARGE = 100, 400


def forward_models(n: int) -> dict[str, Any]:
    """``n`` small tables, each referencing the table after it in name order."""
    from mega.plugins.db import BigInt, Int, Model, String

    tables = {}
    for i in range(n):
        attrs: dict[str, object] = {
            "__table__": f"f{i:04d}",
            "__module__": __name__,
            "name": String(80),
            "score": Int(),
            "next_id": BigInt(nullable=True, references=f"f{i + 1:04d}.id" if i < n - 1 else None),
        }
        model: Any = type(f"F{n}x{i:04d}", (Model,), attrs)
        tables[model.__table__] = model.table_def()
    return tables


def models(n: int) -> dict[str, Any]:
    """``n`` tables shaped as bench/migrations.py's (its generator, four-digit names)."""
    from migrations import mega_models

    return mega_models(n, width=4, prefix=f"T{n}x")


def timed(fn: Callable[[], None]) -> float:
    gc.collect()  # each call starts from the same collector state; its own collections count
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def measure(rounds: int) -> dict[str, dict[int, list[float]]]:
    from mega.plugins.db.migrations import Journal, diff, render_migration

    ops: dict[str, dict[int, Callable[[], None]]] = {"noop": {}, "initial": {}, "forward_fks": {}}
    for n in (FK_SMALL, FK_LARGE):
        forward = forward_models(n)

        def ordered(forward: dict[str, Any] = forward) -> None:
            diff({}, forward)

        ops["forward_fks"][n] = ordered
    with tempfile.TemporaryDirectory() as tmp:
        for n in (SMALL, LARGE):
            tables = models(n)
            journal = Journal(Path(tmp, str(n)))
            journal.record("initial", tables, dt.datetime.now(dt.UTC))

            def noop(journal: Journal = journal, tables: dict[str, Any] = tables) -> None:
                plan = diff(journal.tables(), tables)
                assert plan.empty, plan.up[:3]

            def initial(tables: dict[str, Any] = tables) -> None:
                plan = diff({}, tables)
                render_migration("initial", plan.up, plan.down, dt.datetime.now(dt.UTC))

            ops["noop"][n], ops["initial"][n] = noop, initial
        ms: dict[str, dict[int, list[float]]] = {k: {n: [] for n in ops[k]} for k in ops}
        for by_n in ops.values():  # warm up
            for fn in by_n.values():
                fn()
        for r in range(rounds):
            for kind, by_n in ops.items():
                for n in list(by_n) if r % 2 else list(by_n)[::-1]:
                    ms[kind][n].append(timed(by_n[n]))
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 60 s)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 9
    ms = measure(rounds)
    med = statistics.median
    # per model at LARGE over per model at SMALL, from each round's pair
    ratios = {}
    for kind, by_n in ms.items():
        small, large = by_n
        per_model = (
            (b / large) / (a / small) for a, b in zip(by_n[small], by_n[large], strict=True)
        )
        ratios[f"{kind}_per_model_{large}_vs_{small}"] = round(med(per_model), 3)
    targets = {name: "<=1.5" for name in ratios}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    figures: dict[str, Any] = {
        f"{kind}_ms": {n: round(med(v), 1) for n, v in by_n.items()} for kind, by_n in ms.items()
    }
    figures |= {
        f"{kind}_us_per_model": {n: round(med(v) / n * 1000, 1) for n, v in by_n.items()}
        for kind, by_n in ms.items()
    }
    figures["rounds"] = rounds
    for name, value in ratios.items():
        print(f"{name:34s} {value:8.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in figures.items():
        print(f"{name:34s} {value}")
    result = {"bench": "curves_migrations", "ratios": ratios, "targets": targets}
    print(json.dumps(result | {"figures": figures, "pass": all(met.values())}))


if __name__ == "__main__":
    main()
