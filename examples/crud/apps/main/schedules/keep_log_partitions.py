"""KeepLogPartitions: create the coming months' ``logs`` partitions ahead of time.

Fires daily on every instance; the lock makes one of them do it, and ``ensure_partitions`` is
idempotent, so a fire caught up after a restart is harmless. On dialects without partitioning
it has nothing to do and says so.
"""

from __future__ import annotations

from typing import Any

from mega.plugins.db import ensure_partitions
from mega.plugins.schedule import Schedule, ScheduleCtx

from ..models.log import Log


class KeepLogPartitions(Schedule):
    cron = "0 3 * * *"  # 03:00 UTC daily: next month exists weeks before anyone writes to it
    timezone = "UTC"
    lock = {"lock": "default", "ttl_ms": 60_000}

    async def run(self, ctx: ScheduleCtx) -> dict[str, Any]:
        created = await ensure_partitions(ctx.db(), Log, ahead=2)
        ctx.log.info("logs.partitions", created=created)
        return {"created": created}
