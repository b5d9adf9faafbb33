"""Test helpers of the sqlite plugin (re-exported by ``mega.testing``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mega.plugins.db import CreateTable, Model

from .database import SqliteDatabase, SqliteOptions


@asynccontextmanager
async def scratch_db(*models: type[Model], path: str = ":memory:") -> AsyncIterator[SqliteDatabase]:
    """A connected embedded SQLite ``db`` adapter with a table per model, closed after the block.

    For unit tests of models and services; an app's own tests get ``ctx.db()`` from ``app``."""
    db = SqliteDatabase(alias="scratch", options=SqliteOptions(path=path))
    await db.connect()
    try:
        await db.apply([CreateTable(model.table_def()) for model in models])
        yield db
    finally:
        await db.close()


__all__ = ["scratch_db"]
