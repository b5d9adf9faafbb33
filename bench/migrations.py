"""Migration authoring speed: mega's differ vs Alembic autogenerate, same schema, same run.

200 generated models, each with 10 columns, an index, a unique column and a foreign key to the
previous model.

(a) no-op diff: mega loads the journal snapshot, scans nothing new and diffs the snapshot
    against the models (what `mega migrate make` does when nothing changed) vs Alembic
    ``compare_metadata`` of the same SQLAlchemy metadata against an identical SQLite database.
    Targets: mega <= 50 ms and <= 0.15x Alembic.
(b) initial migration: mega diff from an empty journal + rendering the file vs Alembic
    ``produce_migrations`` + ``render_python_code`` (against an empty database). Target <= 0.5x.

Rounds interleave the two; times are medians. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

N_MODELS = 200


def mega_models(n: int = N_MODELS, *, width: int = 3, prefix: str = "T") -> dict[str, object]:
    """``n`` models as tables (``table_def()``): ``t000``… each referencing the one before; the
    class names start with ``prefix`` (several sets in one process need their own)."""
    from mega.plugins.db import BigInt, Bool, DateTime, Decimal, Index, Int, Model, String, Text

    tables = {}
    for i in range(n):
        attrs: dict[str, object] = {
            "__table__": f"t{i:0{width}d}",
            "__module__": __name__,
            "__indexes__": [Index("name", "score")],
            "code": String(40, unique=True),
            "name": String(80),
            "score": Int(),
            "amount": Decimal(12, 2, nullable=True),
            "body": Text(nullable=True),
            "active": Bool(default=True),
            "at": DateTime(nullable=True),
            "rank": Int(nullable=True),
        }
        parent = f"t{i - 1:0{width}d}.id" if i else None
        attrs["parent_id"] = BigInt(nullable=True, references=parent)
        model = type(f"{prefix}{i:0{width}d}", (Model,), attrs)
        tables[model.__table__] = model.table_def()
    return tables


def sa_metadata():
    import sqlalchemy as sa

    meta = sa.MetaData()
    for i in range(N_MODELS):
        parent = [sa.ForeignKey(f"t{i - 1:03d}.id")] if i else []
        sa.Table(
            f"t{i:03d}",
            meta,
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("code", sa.String(40), nullable=False, unique=True),
            sa.Column("name", sa.String(80), nullable=False),
            sa.Column("score", sa.Integer, nullable=False),
            sa.Column("amount", sa.Numeric(12, 2)),
            sa.Column("body", sa.Text),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True)),
            sa.Column("rank", sa.Integer),
            sa.Column("parent_id", sa.BigInteger, *parent),
            sa.Index(f"ix_t{i:03d}_name_score", "name", "score"),
        )
    return meta


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7

    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
    from alembic.migration import MigrationContext

    from mega.plugins.db.migrations import Journal, diff, render_migration

    tables = mega_models()
    meta = sa_metadata()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        journal = Journal(root)
        journal.record("initial", tables, dt.datetime.now(dt.UTC))
        full = sa.create_engine(f"sqlite:///{root / 'full.db'}")
        meta.create_all(full)
        empty = sa.create_engine(f"sqlite:///{root / 'empty.db'}")
        full_conn, empty_conn = full.connect(), empty.connect()

        def mega_noop() -> None:
            plan = diff(journal.tables(), tables)
            assert plan.empty, plan.up[:3]

        def alembic_noop() -> None:
            changes = compare_metadata(MigrationContext.configure(full_conn), meta)
            assert not changes, changes[:3]

        def mega_initial() -> None:
            plan = diff({}, tables)
            render_migration("initial", plan.up, plan.down, dt.datetime.now(dt.UTC))

        def alembic_initial() -> None:
            script = produce_migrations(MigrationContext.configure(empty_conn), meta)
            render_python_code(script.upgrade_ops)
            render_python_code(script.downgrade_ops)

        names = ("mega_noop", "alembic_noop", "mega_initial", "alembic_initial")
        times: dict[str, list[float]] = {k: [] for k in names}
        for _ in range(rounds):
            times["mega_noop"].append(timed(mega_noop))
            times["alembic_noop"].append(timed(alembic_noop))
            times["mega_initial"].append(timed(mega_initial))
            times["alembic_initial"].append(timed(alembic_initial))
        full_conn.close()
        empty_conn.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = {
        "noop_diff_ms": round(med["mega_noop"], 1),
        "noop_vs_alembic": round(med["mega_noop"] / med["alembic_noop"], 3),
        "initial_vs_alembic": round(med["mega_initial"] / med["alembic_initial"], 3),
    }
    targets = {"noop_diff_ms": "<=50", "noop_vs_alembic": "<=0.15", "initial_vs_alembic": "<=0.5"}
    met = {k: ratios[k] <= float(targets[k][2:]) for k in ratios}
    for name, value in ratios.items():
        print(f"{name:22s} {value:9.3f}  (target {targets[name]})  {'ok' if met[name] else 'MISS'}")
    for name, value in med.items():
        print(f"{name:22s} {value:9.1f} ms")
    print(
        json.dumps(
            {
                "bench": "migrations",
                "ratios": ratios,
                "targets": targets,
                "figures": {f"{k}_ms": round(v, 1) for k, v in med.items()},
                "pass": all(met.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
