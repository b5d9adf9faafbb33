"""The ``postgres`` db driver and dialect: asyncpg with its pool, JSON codecs, advisory locks."""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mega import import_driver
from mega.plugins.db import (
    MISSING,
    AlterColumn,
    Capabilities,
    ColumnInfo,
    Converter,
    CreatePartition,
    Database,
    DbError,
    Dialect,
    ForeignKeyInfo,
    IndexInfo,
    Table,
    TableInfo,
    connection_lost,
    constraint_name,
    enum_value,
    integrity,
    invalid_value,
    lock_timeout,
    retryable,
    to_utc,
    unsupported,
)
from mega.plugins.db import Field as ModelField

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresOptions(BaseModel):
    """``[adapters.db.<alias>]`` keys for ``driver = "postgres"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dsn: str = "postgresql://127.0.0.1:5432/postgres"
    #: tables live in this schema (search_path); None: the server's default (public)
    schema_name: str | None = Field(default=None, pattern=_SCHEMA.pattern)
    pool_min: int = Field(default=1, ge=0)
    pool_max: int = Field(default=10, ge=1)
    #: a statement running longer is cancelled (None: no limit)
    command_timeout_ms: int | None = Field(default=None, gt=0)
    #: shown in pg_stat_activity
    application_name: str = "mega"
    #: prepared statements kept per connection (asyncpg's cache)
    statement_cache_size: int = Field(default=256, ge=0)


class PostgresDialect(Dialect):
    name = "postgres"
    capabilities = Capabilities(
        transactional_ddl=True,
        returning=True,
        partitioning=True,
        native_json=True,
        native_uuid=True,
        partial_indexes=True,
    )
    TYPES: ClassVar[dict[str, str]] = {
        "int": "integer",
        "bigint": "bigint",
        "text": "text",
        "bool": "boolean",
        "date": "date",
        "datetime": "timestamptz",
        "float": "double precision",
        "json": "jsonb",
        "uuid": "uuid",
        "enum": "text",
        "bytes": "bytea",
    }

    def placeholder(self, position: int) -> str:
        return f"${position}"

    def column_type(self, field: ModelField) -> str:
        if field.kind == "string":
            return f"varchar({field.length})"  # type: ignore[attr-defined]
        if field.kind == "decimal":
            return f"numeric({field.precision}, {field.scale})"  # type: ignore[attr-defined]
        return self.TYPES[field.kind]

    def autoincrement_column(self, table: str, field: ModelField) -> str:
        # serial, not identity: identity columns are refused on partitioned tables before PG 17
        return ("serial" if field.kind == "int" else "bigserial") + " PRIMARY KEY"

    def converters(self, field: ModelField) -> tuple[Converter | None, Converter | None]:
        kind = field.kind
        if kind == "datetime":
            return to_utc, None
        if kind == "enum":
            return enum_value, None
        if kind == "decimal":
            return _to_decimal, None
        return None, None  # json/jsonb go through the codecs set on each connection

    def literal(self, value: Any, field: ModelField | None = None) -> str:
        if field is not None and field.kind == "json" and value is not None:
            return self.string_literal(json.dumps(value)) + "::jsonb"
        return super().literal(value, field)

    def like(self, column: str, pattern: str, case_insensitive: bool, negate: bool) -> str:
        op = ("NOT " if negate else "") + ("ILIKE" if case_insensitive else "LIKE")
        return f"{column} {op} {pattern}{self.like_escape}"

    def create_table(self, table: Table) -> list[str]:
        if table.partition is None:
            return super().create_table(table)
        # A partitioned table's keys must include the partition column: the primary key
        # becomes (key, partition column) and plain unique columns are refused.
        if table.unique_columns():
            raise unsupported(
                self.name,
                f"unique columns on partitioned table {table.name!r}",
                "use a unique Index that includes the partition column",
            )
        key = table.primary_key[0]
        lines = [self.column_definition(table.name, c, inline_pk=False) for c in table.columns]
        if key.autoincrement:
            lines[table.columns.index(key)] = (
                f"{self.quote(key.name)} {'serial' if key.kind == 'int' else 'bigserial'}"
            )
        columns = [key.name] + (
            [table.partition.column] if table.partition.column != key.name else []
        )
        lines.append(
            f"CONSTRAINT {self.quote(constraint_name('pk', table.name, columns))} "
            f"PRIMARY KEY ({', '.join(self.quote(c) for c in columns)})"
        )
        lines.extend(self.foreign_key_clause(fk) for fk in table.foreign_keys())
        sql = (
            f"CREATE TABLE {self.quote(table.name)} (\n  " + ",\n  ".join(lines) + "\n) "
            f"PARTITION BY RANGE ({self.quote(table.partition.column)})"
        )
        return [sql, *(self.create_index(table.name, i) for i in table.all_indexes())]

    def create_partition(self, op: CreatePartition) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quote(op.name)} PARTITION OF "
            f"{self.quote(op.parent)} FOR VALUES FROM ({self.literal(op.start.isoformat())}) "
            f"TO ({self.literal(op.end.isoformat())})"
        ]

    def alter_column(self, op: AlterColumn) -> list[str]:
        column, name = op.column, self.quote(op.column.name)
        kind = self.column_type(column)
        changes = [
            f"ALTER COLUMN {name} TYPE {kind} USING {name}::{kind}",
            f"ALTER COLUMN {name} {'DROP' if column.nullable else 'SET'} NOT NULL",
        ]
        if column.default is MISSING or callable(column.default):
            changes.append(f"ALTER COLUMN {name} DROP DEFAULT")
        else:
            changes.append(
                f"ALTER COLUMN {name} SET DEFAULT {self.literal(column.default, column)}"
            )
        return [f"ALTER TABLE {self.quote(op.table)} " + ", ".join(changes)]


def _to_decimal(value: Any) -> decimal.Decimal:
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)")


class PostgresDatabase(Database):
    """The ``postgres`` db adapter."""

    dialect = PostgresDialect()
    max_params = 32_000

    def __init__(self, *, alias: str, options: PostgresOptions) -> None:
        super().__init__(alias=alias)
        self.options = options
        self._pool: Any = None

    def _connect_kwargs(self) -> dict[str, Any]:
        settings = {"application_name": self.options.application_name}
        if self.options.schema_name:
            settings["search_path"] = self.options.schema_name
        timeout = self.options.command_timeout_ms
        return {
            "server_settings": settings,
            "command_timeout": timeout / 1000 if timeout else None,
            "statement_cache_size": self.options.statement_cache_size,
        }

    async def connect(self) -> None:
        asyncpg = import_driver("asyncpg", extra="postgres", what="the postgres db driver")
        if self.options.schema_name:
            conn = await asyncpg.connect(self.options.dsn)
            try:
                await conn.execute(
                    f"CREATE SCHEMA IF NOT EXISTS {self.dialect.quote(self.options.schema_name)}"
                )
            finally:
                await conn.close()
        self._pool = await asyncpg.create_pool(
            self.options.dsn,
            min_size=self.options.pool_min,
            max_size=self.options.pool_max,
            init=_set_codecs,
            **self._connect_kwargs(),
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def pool_stats(self) -> dict[str, int]:
        pool = self._pool
        if pool is None:
            return {}
        return {"size": pool.get_size(), "idle": pool.get_idle_size()}

    def acquire(self) -> Any:
        if self._pool is None:
            raise self.not_connected()
        return self._pool.acquire()

    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        status = await conn.execute(sql, *params)
        count = status.rpartition(" ")[2]
        return int(count) if count.isdigit() else 0

    async def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return list(await conn.fetch(sql, *params))

    async def fetch_named_on(
        self, conn: Any, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[Sequence[Any]]]:
        rows = await conn.fetch(sql, *params)
        return (list(rows[0].keys()) if rows else []), list(rows)

    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        keys = [row[0] for row in await conn.fetch(sql, *params)]
        return sorted(keys) if rows > 1 else keys

    async def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[tuple[list[str], list[Sequence[Any]]]]:
        cursor = await conn.cursor(sql, *params)
        names: list[str] = []
        while rows := await cursor.fetch(batch):
            names = names or list(rows[0].keys())
            yield names, list(rows)

    def map_error(self, exc: BaseException) -> DbError | None:
        asyncpg = import_driver("asyncpg", extra="postgres", what="the postgres db driver")
        errors = asyncpg.exceptions
        if isinstance(exc, errors.PostgresError):
            state = getattr(exc, "sqlstate", "") or ""
            constraint = getattr(exc, "constraint_name", None)
            table = getattr(exc, "table_name", None)
            column = getattr(exc, "column_name", None)
            message = getattr(exc, "message", str(exc))
            detail = getattr(exc, "detail", None) or ""
            if column is None and (match := _KEY.search(detail)):
                column = match.group("columns")
            if detail:
                message = f"{message} ({detail})"
            kinds = {
                "23505": "unique",
                "23503": "foreign_key",
                "23502": "not_null",
                "23514": "check",
            }
            if state in kinds:
                return integrity(
                    kinds[state],
                    constraint=constraint,
                    table=table,
                    column=column,
                    message=message,
                )
            if state.startswith("22"):  # data exception: out of range, NUL in text, too long
                return invalid_value(message, column=column)
            if state == "40P01":
                return retryable("deadlock detected", message)
            if state == "40001":
                return retryable("serialization failure", message)
            if state == "55P03":
                return retryable("lock not available", message)
            if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
                return connection_lost(self.alias, exc)
            return None
        if isinstance(exc, asyncpg.DataError):  # refused while binding: "value out of int64 range"
            return invalid_value(str(exc))
        if isinstance(exc, errors.ConnectionDoesNotExistError | OSError):
            return connection_lost(self.alias, exc)
        # a terminated server connection detaches from its pool: asyncpg then says "closed"
        # or "released back to the pool" about the proxy the transaction still holds
        if isinstance(exc, asyncpg.InterfaceError) and any(
            word in str(exc) for word in ("closed", "released back to the pool")
        ):
            return connection_lost(self.alias, exc)
        # a query sent while asyncpg still processes the server's termination of an idle
        # connection: the connection is going away (the pool replaces it on the next acquire)
        if isinstance(exc, errors.InternalClientError) and "another operation" in str(exc):
            return connection_lost(self.alias, exc)
        return None

    async def introspect(self) -> dict[str, TableInfo]:
        tables = await self.fetch_all(
            "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition ORDER BY 1"
        )
        found: dict[str, TableInfo] = {}
        for table in tables:
            name = table["name"]
            keys = {
                r["column"]
                for r in await self.fetch_all(
                    "SELECT a.attname AS column FROM pg_index i JOIN pg_attribute a"
                    " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                    " WHERE i.indrelid = $1::regclass AND i.indisprimary",
                    self.dialect.quote(name),
                )
            }
            columns = [
                ColumnInfo(
                    c["column_name"],
                    _pg_type(c),
                    c["is_nullable"] == "YES",
                    c["column_name"] in keys,
                    c["column_default"],
                )
                for c in await self.fetch_all(
                    "SELECT column_name, data_type, character_maximum_length, numeric_precision,"
                    " numeric_scale, is_nullable, column_default FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = $1"
                    " ORDER BY ordinal_position",
                    name,
                )
            ]
            indexes = [
                IndexInfo(r["name"], tuple(r["columns"]), r["unique"])
                for r in await self.fetch_all(
                    "SELECT ic.relname AS name, i.indisunique AS unique,"
                    " array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)"
                    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n"
                    " ORDER BY k.o) AS columns"
                    " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                    " WHERE i.indrelid = $1::regclass AND NOT i.indisprimary ORDER BY 1",
                    self.dialect.quote(name),
                )
            ]
            foreign_keys = [
                ForeignKeyInfo(
                    r["name"],
                    tuple(r["columns"]),
                    r["ref_table"],
                    tuple(r["ref_columns"]),
                    _ON_DELETE[r["on_delete"]],
                )
                for r in await self.fetch_all(
                    "SELECT con.conname AS name, con.confdeltype::text AS on_delete,"
                    " ref.relname AS ref_table,"
                    " array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)"
                    " JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n"
                    " ORDER BY k.o) AS columns,"
                    " array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)"
                    " JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n"
                    " ORDER BY k.o) AS ref_columns"
                    " FROM pg_constraint con JOIN pg_class ref ON ref.oid = con.confrelid"
                    " WHERE con.conrelid = $1::regclass AND con.contype = 'f' ORDER BY 1",
                    self.dialect.quote(name),
                )
            ]
            partitions = [
                r["name"]
                for r in await self.fetch_all(
                    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c"
                    " ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1",
                    self.dialect.quote(name),
                )
            ]
            found[name] = TableInfo(name, columns, indexes, foreign_keys, partitions)
        return found

    @contextlib.asynccontextmanager
    async def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> AsyncIterator[None]:
        """A session advisory lock on a dedicated connection (not the pool's): held until
        released, and released by the server if this process dies."""
        asyncpg = import_driver("asyncpg", extra="postgres", what="the postgres db driver")
        conn = await asyncpg.connect(self.options.dsn, **self._connect_kwargs())
        key = f"{self.options.schema_name or ''}:{name}"
        deadline = time.monotonic() + timeout_s
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                if time.monotonic() >= deadline:
                    raise lock_timeout(name, timeout_s)
                await asyncio.sleep(0.05)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", key)
        finally:
            await conn.close()


_ON_DELETE = {
    "a": "no action",
    "r": "restrict",
    "c": "cascade",
    "n": "set null",
    "d": "set default",
}


def _pg_type(column: dict[str, Any]) -> str:
    kind = str(column["data_type"])
    if kind == "character varying":
        return f"varchar({column['character_maximum_length']})"
    if kind == "numeric" and column["numeric_precision"] is not None:
        return f"numeric({column['numeric_precision']}, {column['numeric_scale']})"
    if kind == "timestamp with time zone":
        return "timestamptz"
    return kind


async def _set_codecs(conn: Any) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
            decoder=json.loads,
            schema="pg_catalog",
        )
