"""The ``sqlite`` db driver and dialect: aiosqlite, WAL, foreign keys on, a busy timeout.

Storage choices, all invisible through the CRUD API (raw SQL sees them):

- datetime: ISO-8601 text in UTC with microseconds, so text order is time order;
- decimal(p, s): an INTEGER of the value times 10^s (exact, and it compares and sorts right,
  which decimal-as-text would not); p is at most 18;
- bool 0/1, uuid and date as text, json as text.

ALTER COLUMN and foreign-key changes rebuild the table (SQLite cannot alter in place), with
foreign key enforcement off for the rebuild and a ``foreign_key_check`` before it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import decimal
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mega import import_driver
from mega.plugins.db import (
    AddForeignKey,
    AlterColumn,
    Capabilities,
    ColumnInfo,
    ConnectionPool,
    Converter,
    Database,
    DbError,
    Dialect,
    DropForeignKey,
    ForeignKeyInfo,
    IndexInfo,
    Table,
    TableInfo,
    connection_lost,
    constraint_name,
    enum_value,
    integrity,
    invalid_value,
    json_dumps,
    lock_timeout,
    retryable,
    to_utc,
    unsupported,
)
from mega.plugins.db import Field as ModelField

MEMORY = ":memory:"


class SqliteOptions(BaseModel):
    """``[adapters.db.<alias>]`` keys for ``driver = "sqlite"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the database file (relative to the working directory), or ":memory:"
    path: str = ".mega/app.sqlite3"
    #: connections (readers run in parallel under WAL; writers queue on SQLite's lock)
    pool_size: int = Field(default=4, ge=1, le=64)
    #: how long a statement waits for another connection's write lock before failing
    busy_timeout_ms: int = Field(default=5_000, ge=0)
    journal_mode: str = Field(default="wal", pattern=r"^(wal|delete|truncate|memory)$")
    synchronous: str = Field(default="normal", pattern=r"^(off|normal|full|extra)$")


class SqliteDialect(Dialect):
    name = "sqlite"
    capabilities = Capabilities(
        transactional_ddl=True,
        returning=True,
        partial_indexes=True,
        rebuilds_tables=True,
    )
    max_decimal_precision: ClassVar[int] = 18
    TYPES: ClassVar[dict[str, str]] = {
        "int": "INTEGER",
        "bigint": "INTEGER",
        "text": "TEXT",
        "bool": "INTEGER",
        "date": "TEXT",
        "datetime": "TEXT",
        "float": "REAL",
        "json": "TEXT",
        "uuid": "TEXT",
        "enum": "TEXT",
        "bytes": "BLOB",
    }

    def column_type(self, field: ModelField) -> str:
        if field.kind == "decimal":
            precision = field.precision  # type: ignore[attr-defined]
            if precision > self.max_decimal_precision:
                raise unsupported(
                    self.name,
                    f"decimal({precision}, …) on {field!r}: SQLite stores decimals as scaled "
                    f"64-bit integers, at most {self.max_decimal_precision} digits",
                )
            return "INTEGER"
        if field.kind == "string":
            return f"VARCHAR({field.length})"  # type: ignore[attr-defined]
        return self.TYPES[field.kind]

    def autoincrement_column(self, table: str, field: ModelField) -> str:
        return "INTEGER PRIMARY KEY AUTOINCREMENT"

    def limit(self, limit: int | None, offset: int | None, params: list[Any]) -> str:
        # SQLite has no OFFSET without LIMIT; -1 is its "no limit"
        return super().limit(-1 if offset and limit is None else limit, offset, params)

    def limit_values(self, limit: int | None, offset: int | None, params: list[Any]) -> None:
        if limit is not None or offset:
            params.append(-1 if limit is None else limit)
        if offset:
            params.append(offset)

    def converters(self, field: ModelField) -> tuple[Converter | None, Converter | None]:
        kind = field.kind
        if kind == "datetime":
            return _datetime_to_text, dt.datetime.fromisoformat
        if kind == "date":
            return dt.date.isoformat, dt.date.fromisoformat
        if kind == "decimal":
            scale = field.scale  # type: ignore[attr-defined]
            return _decimal_to_int(scale), _int_to_decimal(scale)
        if kind == "bool":
            return None, bool
        if kind == "uuid":
            return str, uuid.UUID
        if kind == "json":
            return json_dumps, json.loads
        if kind == "enum":
            return enum_value, None
        return None, None

    def literal(self, value: Any, field: ModelField | None = None) -> str:
        if isinstance(value, bool) and field is None:
            return "1" if value else "0"
        if field is not None and field.kind == "bool" and isinstance(value, bool):
            return "1" if value else "0"
        return super().literal(value, field)

    # SQLite alters a column or a table's foreign keys by rebuilding the table (the base
    # class's ddl() checks the capability flags first)
    def alter_column(self, op: AlterColumn) -> list[str]:
        return self.rebuild_for(op)

    def add_foreign_key(self, op: AddForeignKey) -> list[str]:
        return self.rebuild_for(op)

    def drop_foreign_key(self, op: DropForeignKey) -> list[str]:
        return self.rebuild_for(op)

    def rebuild_for(self, op: AlterColumn | AddForeignKey | DropForeignKey) -> list[str]:
        if op.target is None:
            raise unsupported(
                self.name,
                f"{type(op).__name__} without the table's target definition",
                "SQLite rebuilds the table: pass target=<the table after the change>",
            )
        return self.rebuild(op.target)

    def rebuild(self, target: Table) -> list[str]:
        """Recreate ``target.name`` from its definition, keeping its rows (SQLite's documented
        twelve-step procedure, without the foreign-key toggling the database does)."""
        temp = f"_mega_new_{target.name}"
        shadow = Table(temp, target.columns, [], target.partition)
        create, *_ = super().create_table(shadow)
        columns = ", ".join(self.quote(c.name) for c in target.columns)
        return [
            create,
            f"INSERT INTO {self.quote(temp)} ({columns}) SELECT {columns} "
            f"FROM {self.quote(target.name)}",
            f"DROP TABLE {self.quote(target.name)}",
            f"ALTER TABLE {self.quote(temp)} RENAME TO {self.quote(target.name)}",
            *(self.create_index(target.name, index) for index in target.all_indexes()),
        ]


def _datetime_to_text(value: dt.datetime) -> str:
    return to_utc(value).isoformat(timespec="microseconds")


def _decimal_to_int(scale: int) -> Converter:
    exponent = decimal.Decimal(1).scaleb(-scale)

    def convert(value: Any) -> int:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        return int(number.quantize(exponent, rounding=decimal.ROUND_HALF_UP).scaleb(scale))

    return convert


def _int_to_decimal(scale: int) -> Converter:
    def convert(value: int) -> decimal.Decimal:
        return decimal.Decimal(value).scaleb(-scale)

    return convert


class SqliteDatabase(Database):
    """The ``sqlite`` db adapter."""

    dialect = SqliteDialect()
    max_params = 32_000
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads, then writes,
    # can fail with SQLITE_BUSY at the write without waiting (the deadlock-avoidance rule)
    begin_sql = "BEGIN IMMEDIATE"
    # ALTER TABLE … RENAME resolves names against the connection's cached schema while parsing,
    # before SQLite notices another connection changed it; reading sqlite_master reloads it
    ddl_preamble = ("SELECT COUNT(*) FROM sqlite_master",)

    def __init__(self, *, alias: str, options: SqliteOptions) -> None:
        super().__init__(alias=alias)
        self.options = options
        self._pool: ConnectionPool | None = None
        self._memory_locks: dict[str, asyncio.Lock] = {}

    @property
    def path(self) -> str:
        return self.options.path

    async def _open(self) -> Any:
        aiosqlite = import_driver("aiosqlite", extra="sqlite", what="the sqlite db driver")
        conn = await aiosqlite.connect(
            self.options.path,
            timeout=self.options.busy_timeout_ms / 1000,
            isolation_level=None,
        )
        for pragma in (
            f"PRAGMA busy_timeout = {self.options.busy_timeout_ms}",
            "PRAGMA foreign_keys = ON",
            f"PRAGMA journal_mode = {self.options.journal_mode}",
            f"PRAGMA synchronous = {self.options.synchronous}",
            # LIKE is case-sensitive on every dialect; ilike() is the case-insensitive one
            "PRAGMA case_sensitive_like = ON",
        ):
            await (await conn.execute(pragma)).close()
        return conn

    async def connect(self) -> None:
        if self.options.path != MEMORY:
            Path(self.options.path).parent.mkdir(parents=True, exist_ok=True)
        # every connection to ":memory:" is a database of its own: one connection, then
        size = 1 if self.options.path == MEMORY else self.options.pool_size
        pool = ConnectionPool(self._open, size)
        await pool.start()
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def pool_stats(self) -> dict[str, int]:
        pool = self._pool
        if pool is None:
            return {}
        return {"size": len(pool.connections), "idle": pool.idle}

    def acquire(self) -> Any:
        if self._pool is None:
            raise self.not_connected()
        return self._pool.acquire()

    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        cursor = await conn.execute(sql, params)
        if cursor.description is not None:
            # a statement that returns rows keeps a read snapshot open (under WAL: an old view
            # of the schema and data) until its cursor is closed
            await cursor.close()
        return int(cursor.rowcount)

    def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Any:
        # aiosqlite's own coroutine, awaited by the caller: no frame of ours around it (a
        # query's hot path); it resolves to the list of row tuples
        return conn.execute_fetchall(sql, params)

    async def fetch_named_on(
        self, conn: Any, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[Sequence[Any]]]:
        async with conn.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
            names = [d[0] for d in cursor.description or ()]
        return names, list(rows)

    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        keys = [row[0] for row in await conn.execute_fetchall(sql, params)]
        # SQLite does not promise RETURNING's row order; generated keys grow with row order
        return sorted(keys) if rows > 1 else keys

    async def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[tuple[list[str], list[Sequence[Any]]]]:
        async with conn.execute(sql, params) as cursor:
            names = [d[0] for d in cursor.description or ()]
            while rows := await cursor.fetchmany(batch):
                yield names, list(rows)

    def map_error(self, exc: BaseException) -> DbError | None:
        if isinstance(exc, OverflowError):  # binding an int past 64 bits
            return invalid_value(str(exc))
        if not isinstance(exc, sqlite3.Error):
            if isinstance(exc, ValueError) and "no active connection" in str(exc):
                return connection_lost(self.alias, exc)
            return None
        name = getattr(exc, "sqlite_errorname", "")
        message = str(exc)
        table = column = constraint = None
        _, _, subject = message.partition(": ")
        if "." in subject and " " not in subject.split(",")[0]:
            table, _, column = subject.split(",")[0].partition(".")
        if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
            return integrity("unique", constraint=None, table=table, column=column, message=message)
        if name == "SQLITE_CONSTRAINT_NOTNULL":
            return integrity(
                "not_null", constraint=None, table=table, column=column, message=message
            )
        if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
            return integrity(
                "foreign_key", constraint=None, table=None, column=None, message=message
            )
        if name == "SQLITE_CONSTRAINT_CHECK":
            constraint = subject or None
            return integrity(
                "check", constraint=constraint, table=None, column=None, message=message
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return retryable("database is locked by another connection", message)
        return None

    # -- schema -----------------------------------------------------------------------------

    async def apply(self, ops: Any, *, then: Any = None) -> None:
        ops = list(ops)
        rebuilds = any(isinstance(op, AlterColumn | AddForeignKey | DropForeignKey) for op in ops)
        if not rebuilds:
            await super().apply(ops, then=then)
            return
        if self.in_transaction:
            raise unsupported(
                self.dialect.name,
                "a table rebuild inside an open transaction",
                "SQLite must switch foreign keys off before the transaction starts",
            )
        statements = [*self.ddl_preamble, *(sql for op in ops for sql in self.dialect.ddl(op))]
        async with self.acquire() as conn:
            await conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self._pinned(conn):
                    async with self.transaction():
                        for sql in statements:
                            await self.execute(sql)
                        if then is not None:
                            await then()
                        problems = await self.fetch_all("PRAGMA foreign_key_check")
                        if problems:
                            raise integrity(
                                "foreign_key",
                                constraint=None,
                                table=problems[0].get("table"),
                                column=None,
                                message=f"{len(problems)} row(s) would break a foreign key",
                            )
            finally:
                await conn.execute("PRAGMA foreign_keys = ON")

    @contextlib.asynccontextmanager
    async def _pinned(self, conn: Any) -> AsyncIterator[None]:
        """Run the block's calls on ``conn`` (already leased) rather than a pooled one."""
        pool = _OneConnection(conn)
        saved, self._pool = self._pool, pool  # type: ignore[assignment]
        try:
            yield
        finally:
            self._pool = saved

    async def introspect(self) -> dict[str, TableInfo]:
        tables = await self.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        found = {}
        for (name,) in (tuple(t.values()) for t in tables):
            columns = [
                ColumnInfo(
                    c["name"],
                    c["type"].lower(),
                    not c["notnull"] and not c["pk"],
                    bool(c["pk"]),
                    c["dflt_value"],
                )
                for c in await self.fetch_all("SELECT * FROM pragma_table_info(?)", name)
            ]
            indexes = []
            for index in await self.fetch_all("SELECT * FROM pragma_index_list(?)", name):
                if index["origin"] == "pk":
                    continue
                parts = await self.fetch_all(
                    "SELECT name FROM pragma_index_info(?) ORDER BY seqno", index["name"]
                )
                covered = tuple(p["name"] for p in parts)
                # SQLite keeps no name for a UNIQUE constraint (its index is
                # sqlite_autoindex_<table>_<n>): report it by the name the DDL gave it
                label = (
                    constraint_name("uq", name, covered)
                    if index["origin"] == "u"
                    else index["name"]
                )
                indexes.append(IndexInfo(label, covered, bool(index["unique"])))
            keys: dict[int, list[dict[str, Any]]] = {}
            for fk in await self.fetch_all("SELECT * FROM pragma_foreign_key_list(?)", name):
                keys.setdefault(fk["id"], []).append(fk)
            foreign_keys = [
                ForeignKeyInfo(
                    None,
                    tuple(p["from"] for p in parts),
                    parts[0]["table"],
                    tuple(p["to"] for p in parts),
                    parts[0]["on_delete"].lower(),
                )
                for parts in keys.values()
            ]
            found[name] = TableInfo(name, columns, indexes, foreign_keys)
        return found

    @contextlib.asynccontextmanager
    async def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> AsyncIterator[None]:
        """An exclusive (``BEGIN IMMEDIATE``) transaction on a lock file beside the database:
        one holder across processes, released by the OS if the holder dies."""
        if self.options.path == MEMORY:  # one process by definition
            lock = self._memory_locks.setdefault(name, asyncio.Lock())
            try:
                async with asyncio.timeout(timeout_s):
                    await lock.acquire()
            except TimeoutError:
                raise lock_timeout(name, timeout_s) from None
            try:
                yield
            finally:
                lock.release()
            return
        aiosqlite = import_driver("aiosqlite", extra="sqlite", what="the sqlite db driver")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        lock_path = f"{self.options.path}.{safe}.lock"
        conn = await aiosqlite.connect(lock_path, timeout=0, isolation_level=None)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    if time.monotonic() >= deadline:
                        raise lock_timeout(name, timeout_s) from None
                    await asyncio.sleep(0.05)
            try:
                yield
            finally:
                await conn.execute("ROLLBACK")
        finally:
            await conn.close()


class _OneConnection:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def acquire(self) -> Any:
        return _Lent(self.conn)


class _Lent:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def __aenter__(self) -> Any:
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        return None
