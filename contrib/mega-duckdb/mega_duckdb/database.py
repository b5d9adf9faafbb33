"""DuckDB through its synchronous Python API, run on one worker thread per adapter.

DuckDB has no savepoints, partial indexes or partitioning, and cannot add a foreign key to an
existing table; its capability flags say so and mega's conformance kit checks that each of
those raises ``db.unsupported`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mega import import_driver
from mega.plugins.db import (
    AddColumn,
    AlterColumn,
    Batch,
    Capabilities,
    ColumnInfo,
    ConnectionPool,
    Converter,
    Database,
    DbError,
    Dialect,
    DropColumn,
    DropIndex,
    DropTable,
    ForeignKeyInfo,
    IndexDef,
    IndexInfo,
    RenameColumn,
    RenameTable,
    Row,
    Table,
    TableInfo,
    connection_lost,
    enum_value,
    integrity,
    json_dumps,
    lock_timeout,
    retryable,
    to_utc,
)

T = TypeVar("T")
#: ops DuckDB refuses on a table that has indexes ("entries that depend on it")
_ALTERS = (AddColumn, DropColumn, RenameColumn, AlterColumn, RenameTable)


class DuckOptions(BaseModel):
    """``[adapters.db.<alias>]`` keys for ``driver = "duckdb"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = ".mega/app.duckdb"
    threads: int = Field(default=2, ge=1)


class DuckDialect(Dialect):
    name = "duckdb"
    capabilities = Capabilities(
        transactional_ddl=True,
        returning=True,
        native_uuid=True,
        savepoints=False,
        foreign_key_actions=False,
        alter_referenced_tables=False,
        partial_indexes=False,
        alter_foreign_keys=False,
    )
    TYPES: ClassVar[dict[str, str]] = {
        "int": "INTEGER",
        "bigint": "BIGINT",
        "text": "VARCHAR",
        "bool": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
        "float": "DOUBLE",
        "json": "VARCHAR",
        "uuid": "UUID",
        "enum": "VARCHAR",
        "bytes": "BLOB",
    }

    def column_type(self, field: Any) -> str:
        if field.kind == "string":
            return "VARCHAR"  # DuckDB accepts VARCHAR(n) but does not enforce n
        if field.kind == "decimal":
            return f"DECIMAL({field.precision}, {field.scale})"
        return self.TYPES[field.kind]

    def autoincrement_column(self, table: str, field: Any) -> str:
        # no serial type: a sequence per table, created just before it (see create_table)
        return f"BIGINT PRIMARY KEY DEFAULT nextval('{_sequence(table)}')"

    def converters(self, field: Any) -> tuple[Converter | None, Converter | None]:
        kind = field.kind
        if kind == "datetime":
            return to_utc, None
        if kind == "json":
            return json_dumps, json.loads
        if kind == "enum":
            return enum_value, None
        return None, None

    def create_table(self, table: Table) -> list[str]:
        statements = super().create_table(table)
        if table.primary_key[0].autoincrement:
            statements.insert(0, f"CREATE SEQUENCE IF NOT EXISTS {_sequence(table.name)}")
        return statements

    def alter_column(self, op: AlterColumn) -> list[str]:
        column, name, table = op.column, self.quote(op.column.name), self.quote(op.table)
        return [
            f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {self.column_type(column)}",
            f"ALTER TABLE {table} ALTER COLUMN {name} "
            f"{'DROP' if column.nullable else 'SET'} NOT NULL",
        ]

    def ddl(self, op: Any) -> list[str]:
        statements = super().ddl(op)
        if isinstance(op, DropTable):  # the key's sequence goes with its table
            statements.append(f"DROP SEQUENCE IF EXISTS {_sequence(op.name)}")
        return statements


_NOT_NULL = re.compile(r"NOT NULL constraint failed: (\w+)\.(\w+)")


def _sequence(table: str) -> str:
    return f"{table}_key_seq"


class DuckDatabase(Database):
    """The ``duckdb`` db adapter: one connection, used from one worker thread."""

    dialect = DuckDialect()

    def __init__(self, *, alias: str, options: DuckOptions) -> None:
        super().__init__(alias=alias)
        self.options = options
        self._root: Any = None
        self._pool: ConnectionPool | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def connect(self) -> None:
        duckdb = import_driver("duckdb", extra="duckdb", what="the duckdb db driver")
        Path(self.options.path).parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"mega-duckdb-{self.alias}")

        def open_root() -> Any:
            root = duckdb.connect(self.options.path, config={"threads": self.options.threads})
            root.execute("SET TimeZone = 'UTC'")
            return root

        self._root = await self._call(open_root)

        async def open_cursor() -> Any:
            return await self._call(self._root.cursor)

        async def close_cursor(cursor: Any) -> None:
            await self._call(cursor.close)

        pool = ConnectionPool(open_cursor, 1, close=close_cursor)
        await pool.start()
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
            await self._call(self._root.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def acquire(self) -> Any:
        if self._pool is None:
            raise self.not_connected()
        return self._pool.acquire()

    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        def run() -> int:
            conn.execute(sql, list(params))
            if conn.description and conn.description[0][0] == "Count":
                row = conn.fetchone()
                return int(row[0]) if row else 0
            return 0

        return int(await self._call(run))

    async def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await self._call(lambda: conn.execute(sql, list(params)).fetchall()))

    async def fetch_named_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Batch:
        def run() -> Batch:
            result = conn.execute(sql, list(params))
            rows = result.fetchall()
            return [d[0] for d in result.description or ()], rows

        return await self._call(run)

    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        keys = [row[0] for row in await self.fetch_on(conn, sql, params)]
        return sorted(keys) if rows > 1 else keys

    async def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[Batch]:
        result = await self._call(lambda: conn.execute(sql, list(params)))
        names = [d[0] for d in result.description or ()]
        while rows := await self._call(result.fetchmany, batch):
            yield names, rows

    def map_error(self, exc: BaseException) -> DbError | None:
        duckdb = import_driver("duckdb", extra="duckdb", what="the duckdb db driver")
        message = str(exc)
        if isinstance(exc, duckdb.ConstraintException):
            lowered = message.lower()
            if "duplicate key" in lowered or "unique" in lowered or "primary key" in lowered:
                kind = "unique"
            elif "foreign key" in lowered:
                kind = "foreign_key"
            elif "not null" in lowered:
                kind = "not_null"
            else:
                kind = "check"
            found = _NOT_NULL.search(message)
            table, column = (found.group(1), found.group(2)) if found else (None, None)
            return integrity(kind, constraint=None, table=table, column=column, message=message)
        if isinstance(exc, duckdb.TransactionException) and "conflict" in message.lower():
            return retryable("write-write conflict", message)
        if isinstance(exc, duckdb.ConnectionException):
            return connection_lost(self.alias, exc)
        return None

    async def apply(self, ops: Any, *, then: Any = None) -> None:
        """As ``Database.apply``, but a table's indexes are dropped around each ALTER and made
        again afterwards (renamed along, gone with a dropped column): DuckDB refuses to alter a
        table that has any."""
        async with self.transaction():  # one transaction for the batch: all or nothing
            for op in ops:
                await self._apply_one(op)
            if then is not None:
                await then()

    async def _apply_one(self, op: Any) -> None:
        ddl = self.dialect.ddl
        if not isinstance(op, _ALTERS):
            for sql in ddl(op):
                await self.execute(sql)
            return
        table = op.old if isinstance(op, RenameTable) else op.table
        indexes = [
            IndexDef(r["index_name"], _index_columns(r["expressions"]), bool(r["is_unique"]))
            for r in await self.fetch_all(
                "SELECT index_name, is_unique, expressions FROM duckdb_indexes()"
                " WHERE table_name = ? AND schema_name = current_schema()",
                table,
            )
        ]
        statements = [s for i in indexes for s in ddl(DropIndex(table, i.name))] + ddl(op)
        if isinstance(op, AlterColumn):
            current = await self.fetch_val(
                "SELECT data_type FROM duckdb_columns() WHERE table_name = ? AND column_name = ?"
                " AND schema_name = current_schema()",
                table,
                op.column.name,
            )
            if str(current).upper() == self.dialect.column_type(op.column).upper():
                # DuckDB refuses a TYPE change on a unique column even to the same type
                statements = [s for s in statements if " TYPE " not in s]
        for sql in statements:
            await self.execute(sql)
        after = op.new if isinstance(op, RenameTable) else table
        for index in indexes:
            columns = tuple(
                op.new if isinstance(op, RenameColumn) and c == op.old else c for c in index.columns
            )
            if isinstance(op, DropColumn) and op.column in columns:
                continue  # as PostgreSQL does: the index goes with its column
            await self.execute(
                self.dialect.create_index(after, IndexDef(index.name, columns, index.unique))
            )

    async def introspect(self) -> dict[str, TableInfo]:
        tables = await self.fetch_all(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = current_schema() ORDER BY 1"
        )
        found = {}
        for table in tables:
            name = table["table_name"]
            keys: set[str] = set()
            uniques: list[IndexInfo] = []
            foreign: list[ForeignKeyInfo] = []
            for c in await self.fetch_all(
                "SELECT constraint_type, constraint_name, constraint_column_names,"
                " referenced_table, referenced_column_names FROM duckdb_constraints()"
                " WHERE table_name = ? AND schema_name = current_schema()",
                name,
            ):
                columns = tuple(c["constraint_column_names"])
                if c["constraint_type"] == "PRIMARY KEY":
                    keys.update(columns)
                elif c["constraint_type"] == "UNIQUE":
                    uniques.append(IndexInfo(c["constraint_name"], columns, True))
                elif c["constraint_type"] == "FOREIGN KEY":
                    foreign.append(
                        ForeignKeyInfo(
                            c["constraint_name"],
                            columns,
                            c["referenced_table"],
                            tuple(c["referenced_column_names"]),
                            "restrict",
                        )
                    )
            columns_info = [
                ColumnInfo(
                    c["column_name"],
                    str(c["data_type"]).lower(),
                    bool(c["is_nullable"]),
                    c["column_name"] in keys,
                    c["column_default"],
                )
                for c in await self.fetch_all(
                    "SELECT column_name, data_type, is_nullable, column_default"
                    " FROM duckdb_columns() WHERE table_name = ? AND schema_name = current_schema()"
                    " ORDER BY column_index",
                    name,
                )
            ]
            indexes = [
                IndexInfo(r["index_name"], _index_columns(r["expressions"]), bool(r["is_unique"]))
                for r in await self.fetch_all(
                    "SELECT index_name, is_unique, expressions FROM duckdb_indexes()"
                    " WHERE table_name = ? AND schema_name = current_schema()",
                    name,
                )
            ]
            found[name] = TableInfo(name, columns_info, [*indexes, *uniques], foreign)
        return found

    @contextlib.asynccontextmanager
    async def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> AsyncIterator[None]:
        """An ``flock`` on a file beside the database: one holder across processes (and across
        adapters in one process), released by the OS if the holder dies."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        fd = os.open(f"{self.options.path}.{safe}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise lock_timeout(name, timeout_s) from None
                    await asyncio.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _index_columns(expressions: Any) -> tuple[str, ...]:
    """``duckdb_indexes().expressions`` (a list, or its text ``[a, "b"]``) as column names."""
    items = (
        expressions if isinstance(expressions, list) else str(expressions).strip("[]").split(",")
    )
    return tuple(str(item).strip().strip('"') for item in items)


__all__ = ["DuckDatabase", "DuckDialect", "DuckOptions"]
