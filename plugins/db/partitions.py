"""Range partitions ahead of time: call ``ensure_partitions`` from a schedule.

A model declared with ``__partition__ = PartitionBy("at", interval="month")`` is a partitioned
table on dialects that have partitioning (PostgreSQL) and a plain table elsewhere. Rows can only
go into a partition that exists, so a daily schedule keeps the next few created::

    class KeepLogPartitions(Schedule):
        cron = "0 3 * * *"
        lock = {"lock": "default", "ttl_ms": 60_000}

        async def run(self, ctx):
            return await ensure_partitions(ctx.db(), Log, ahead=3)
"""

from __future__ import annotations

import datetime as dt

from mega import MegaConfigError

from .database import Database
from .errors import DbError
from .model import Model
from .schema import CreatePartition

INTERVALS = ("day", "month", "year")


def _start(moment: dt.datetime, interval: str) -> dt.datetime:
    if interval == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "month":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _next(start: dt.datetime, interval: str) -> dt.datetime:
    if interval == "day":
        return start + dt.timedelta(days=1)
    if interval == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def partition_name(table: str, start: dt.datetime, interval: str) -> str:
    """``logs_2026_11`` (month), ``logs_2026_11_26`` (day), ``logs_2026`` (year)."""
    fmt = {"day": "%Y_%m_%d", "month": "%Y_%m", "year": "%Y"}[interval]
    return f"{table}_{start.strftime(fmt)}"


async def ensure_partitions(
    db: Database, model: type[Model], *, ahead: int = 3, now: dt.datetime | None = None
) -> list[str]:
    """Create the partition holding ``now`` and the next ``ahead`` ones, where missing.

    Returns the names created (none on a dialect without partitioning: the table is plain).
    Idempotent, and safe when several processes run it at once: a partition another one
    created in the meantime is not an error (each caller that found it missing reports it).
    """
    spec = model.__partition__
    if spec is None:
        raise MegaConfigError(
            "db.not_partitioned",
            f"model {model.__name__} is not partitioned: declare __partition__ = "
            'PartitionBy("<date or datetime field>", interval="month")',
            {"model": model.__name__},
        )
    if spec.interval not in INTERVALS:
        raise MegaConfigError(
            "db.invalid_partition",
            f"model {model.__name__}: partition interval {spec.interval!r}; expected one of "
            f"{', '.join(INTERVALS)}",
            {"model": model.__name__},
        )
    if not db.dialect.capabilities.partitioning:
        return []
    table = model.__table__
    existing = set((await db.introspect())[table].partitions)
    is_date = model.field(spec.column).kind == "date"
    start = _start(now or dt.datetime.now(dt.UTC), spec.interval)
    ops = []
    for _ in range(ahead + 1):
        end = _next(start, spec.interval)
        name = partition_name(table, start, spec.interval)
        if name not in existing:
            low, high = (start.date(), end.date()) if is_date else (start, end)
            ops.append(CreatePartition(table, name, low, high))
        start = end
    created = []
    for op in ops:
        try:
            await db.apply([op])
        except DbError:
            # another process may create it at the same moment (PostgreSQL's CREATE TABLE IF
            # NOT EXISTS is not safe against a concurrent one): there, it is no failure
            if op.name not in (await db.introspect())[table].partitions:
                raise
            continue
        created.append(op.name)
    return created
