"""LogService: the audit trail in the month-partitioned ``logs`` table."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from mega import Ctx
from mega.plugins.db import Database, DbError, ensure_partitions

from ..models.log import Log


class LogService:
    def __init__(self, ctx: Ctx) -> None:
        self.db: Database = ctx.db()

    async def write(self, action: str, user_id: int | None = None, **detail: Any) -> None:
        row = {
            "at": dt.datetime.now(dt.UTC),
            "user_id": user_id,
            "action": action,
            "detail": detail or None,
        }
        try:
            await self.db.insert(Log, row)
        except DbError:
            # a partitioned table refuses rows no partition holds: the schedule keeps the
            # coming months created, this covers a fresh database before its first fire
            if not self.db.dialect.capabilities.partitioning:
                raise
            # another writer may make the partition at the same moment: PostgreSQL's CREATE
            # TABLE IF NOT EXISTS is not safe against a concurrent one (DuplicateTableError,
            # seen with 40 registrations at once); the insert below says if it is there
            with contextlib.suppress(DbError):
                await ensure_partitions(self.db, Log, ahead=1)
            await self.db.insert(Log, row)

    async def recent(self, limit: int = 50, user_id: int | None = None) -> list[dict[str, Any]]:
        where = {"user_id": user_id} if user_id is not None else None
        return await self.db.find(Log, where=where, order_by=["-at", "-id"], limit=limit)
