"""The ``maria`` db driver and dialect: MariaDB (and MySQL) through asyncmy's pool.

asyncmy over aiomysql, measured on this project's machine against MariaDB 10.11 (bench notes in
docs/plugins/maria.md): 2x faster on primary-key lookups, about 8x on 500-row reads (its protocol
and row decoding are compiled), and released in 2026; aiomysql is pure Python on PyMySQL.

Choices that keep behaviour the same as the other dialects:

- tables are ``utf8mb4`` with the binary collation: comparisons, ``LIKE`` and unique keys are
  case-sensitive as on PostgreSQL and SQLite (``ilike`` is the case-insensitive one);
- connections set ``FOUND_ROWS``: ``update`` counts the rows it matched, as elsewhere, not only
  those whose value changed;
- datetimes are ``DATETIME(6)`` holding UTC; they come back as aware UTC datetimes;
- DDL is not transactional on MariaDB: ``Database.apply`` runs ops one statement at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mega import import_driver
from mega.plugins.db import (
    AlterColumn,
    Capabilities,
    ColumnInfo,
    ConnectionLost,
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
    enum_value,
    integrity,
    invalid_value,
    json_dumps,
    lock_timeout,
    retryable,
    to_utc,
)
from mega.plugins.db import Field as ModelField

#: MySQL's "no limit" for a query with OFFSET and no LIMIT
NO_LIMIT = 18446744073709551615


class MariaOptions(BaseModel):
    """``[adapters.db.<alias>]`` keys for ``driver = "maria"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=3306, gt=0, lt=65536)
    user: str = "root"
    password: SecretStr = SecretStr("")
    database: str = Field(default="test", pattern=r"^[A-Za-z0-9_]{1,64}$")
    pool_min: int = Field(default=1, ge=0)
    pool_max: int = Field(default=10, ge=1)
    connect_timeout_ms: int = Field(default=5_000, gt=0)
    #: close pooled connections idle longer than this (MariaDB's wait_timeout closes them)
    pool_recycle_s: int = Field(default=3_600, gt=0)


class MariaDialect(Dialect):
    name = "maria"
    capabilities = Capabilities(
        transactional_ddl=False,
        returning=False,
        native_json=True,
        native_enum=True,
        partial_indexes=False,
    )
    quote_char = "`"
    like_escape = " ESCAPE '\\\\'"
    TYPES: ClassVar[dict[str, str]] = {
        "int": "INT",
        "bigint": "BIGINT",
        "text": "LONGTEXT",
        "bool": "TINYINT(1)",
        "date": "DATE",
        "datetime": "DATETIME(6)",
        "float": "DOUBLE",
        "json": "JSON",
        "uuid": "CHAR(36)",
        "bytes": "LONGBLOB",
    }

    def placeholder(self, position: int) -> str:
        return "%s"

    def column_type(self, field: ModelField) -> str:
        kind = field.kind
        if kind == "string":
            return f"VARCHAR({field.length})"  # type: ignore[attr-defined]
        if kind == "decimal":
            return f"DECIMAL({field.precision}, {field.scale})"  # type: ignore[attr-defined]
        if kind == "enum":
            return "ENUM(" + ", ".join(self.literal(v) for v in field.values) + ")"  # type: ignore[attr-defined]
        return self.TYPES[kind]

    def autoincrement_column(self, table: str, field: ModelField) -> str:
        return f"{self.column_type(field)} NOT NULL AUTO_INCREMENT PRIMARY KEY"

    def converters(self, field: ModelField) -> tuple[Converter | None, Converter | None]:
        kind = field.kind
        if kind == "datetime":
            return _to_naive_utc, _from_naive_utc
        if kind == "json":
            return json_dumps, json.loads
        if kind == "uuid":
            return str, uuid.UUID
        if kind == "bool":
            return None, bool
        if kind == "enum":
            return enum_value, None
        return None, None

    def string_literal(self, text: str) -> str:
        # backslash is an escape character in MariaDB string literals (by default)
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def literal(self, value: Any, field: ModelField | None = None) -> str:
        if isinstance(value, dt.datetime) and field is not None:
            return self.string_literal(_to_naive_utc(value).isoformat(sep=" "))
        return super().literal(value, field)

    def limit(self, limit: int | None, offset: int | None, params: list[Any]) -> str:
        if offset and limit is None:
            limit = NO_LIMIT
        return super().limit(limit, offset, params)

    def insert_defaults(self, table: str) -> str:
        return f"INSERT INTO {table} () VALUES ()"

    def upsert(
        self,
        model: Any,
        columns: tuple[str, ...],
        conflict: tuple[str, ...],
        update: tuple[str, ...],
    ) -> str:
        # MariaDB picks the conflicting unique key itself; `conflict` documents intent only
        sql = self.insert(model, columns, 1, returning=False)
        if not update:
            key = self.quote(model.__primary_key__.name)
            return f"{sql} ON DUPLICATE KEY UPDATE {key} = {key}"
        sets = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in update)
        return f"{sql} ON DUPLICATE KEY UPDATE {sets}"

    def table_suffix(self, table: Table) -> str:
        return " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

    def drop_index(self, table: str, name: str) -> str:
        return f"DROP INDEX {self.quote(name)} ON {self.quote(table)}"

    def alter_column(self, op: AlterColumn) -> list[str]:
        definition = self.column_definition(op.table, op.column, inline_pk=False)
        return [f"ALTER TABLE {self.quote(op.table)} MODIFY COLUMN {definition}"]

    def drop_foreign_key(self, op: DropForeignKey) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} DROP FOREIGN KEY {self.quote(op.name)}"]


def _to_naive_utc(value: dt.datetime) -> dt.datetime:
    return to_utc(value).replace(tzinfo=None)


def _from_naive_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


_COLUMN = re.compile(r"[Cc]olumn '([^']+)'|[Ff]ield '([^']+)'")
_KEY = re.compile(r"for key '(?:[^'.]+\.)?([^']+)'")
_CONSTRAINT = re.compile(r"CONSTRAINT `([^`]+)`")
_TABLE = re.compile(r"`[^`]+`\.`([^`]+)`")
#: client-side codes for a broken connection (CR_SERVER_GONE_ERROR, CR_SERVER_LOST, …)
_LOST = {2006, 2013, 2055, 1927, 4031}


class MariaDatabase(Database):
    """The ``maria`` db adapter."""

    dialect = MariaDialect()
    max_params = 60_000
    begin_sql = "START TRANSACTION"

    def __init__(self, *, alias: str, options: MariaOptions) -> None:
        super().__init__(alias=alias)
        self.options = options
        self._pool: Any = None
        self._increment = 1

    def _connect_kwargs(self) -> dict[str, Any]:
        client = import_driver("asyncmy.constants.CLIENT", extra="maria", what="the maria driver")
        o = self.options
        return {
            "host": o.host,
            "port": o.port,
            "user": o.user,
            "password": o.password.get_secret_value(),
            "db": o.database,
            "charset": "utf8mb4",
            "autocommit": True,
            "client_flag": client.FOUND_ROWS,
            "connect_timeout": o.connect_timeout_ms / 1000,
            "init_command": "SET time_zone = '+00:00'",
        }

    async def connect(self) -> None:
        asyncmy = import_driver("asyncmy", extra="maria", what="the maria db driver")
        self._pool = await asyncmy.create_pool(
            minsize=self.options.pool_min,
            maxsize=self.options.pool_max,
            pool_recycle=self.options.pool_recycle_s,
            **self._connect_kwargs(),
        )
        self._increment = int(await self.fetch_val("SELECT @@auto_increment_increment") or 1)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    def pool_stats(self) -> dict[str, int]:
        pool = self._pool
        if pool is None:
            return {}
        return {"size": int(pool.size), "idle": int(pool.freesize)}

    def acquire(self) -> Any:
        if self._pool is None:
            raise self.not_connected()
        return _Lease(self)

    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        async with conn.cursor() as cursor:
            return int(await cursor.execute(sql, params or None))

    async def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, params or None)
            return list(await cursor.fetchall())

    async def fetch_named_on(
        self, conn: Any, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[Sequence[Any]]]:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, params or None)
            rows = await cursor.fetchall()
            return [d[0] for d in cursor.description or ()], list(rows)

    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, params)
            first = int(cursor.lastrowid)
        # one multi-row INSERT gets consecutive keys (a "simple insert" under every
        # innodb_autoinc_lock_mode), spaced by auto_increment_increment
        return [first + i * self._increment for i in range(rows)]

    async def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[tuple[list[str], list[Sequence[Any]]]]:
        cursors = import_driver("asyncmy.cursors", extra="maria", what="the maria db driver")
        async with conn.cursor(cursors.SSCursor) as cursor:
            await cursor.execute(sql, params or None)
            names = [d[0] for d in cursor.description or ()]
            while rows := await cursor.fetchmany(batch):
                yield names, list(rows)

    def map_error(self, exc: BaseException) -> DbError | None:
        errors = import_driver("asyncmy.errors", extra="maria", what="the maria db driver")
        if isinstance(exc, ConnectionError | BrokenPipeError):
            return connection_lost(self.alias, exc)
        if not isinstance(exc, errors.MySQLError):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        column = next((g for m in _COLUMN.finditer(message) for g in m.groups() if g), None)
        table_match = _TABLE.search(message)
        table = table_match.group(1) if table_match else None
        if code == 1062:
            key = _KEY.search(message)
            return integrity(
                "unique",
                constraint=key.group(1) if key else None,
                table=None,
                column=None,
                message=message,
            )
        if code in (1451, 1452, 1216, 1217):
            found = _CONSTRAINT.search(message)
            return integrity(
                "foreign_key",
                constraint=found.group(1) if found else None,
                table=table,
                column=None,
                message=message,
            )
        if code in (1048, 1364):
            return integrity(
                "not_null", constraint=None, table=None, column=column, message=message
            )
        if code in (4025, 3819, 1265):  # CHECK failed; 1265: a value outside an ENUM
            found = _CONSTRAINT.search(message)
            return integrity(
                "check",
                constraint=found.group(1) if found else None,
                table=table,
                column=column,
                message=message,
            )
        # out of range, incorrect string value, too long, truncated, unsigned out of range
        if code in (1264, 1366, 1406, 1292, 1690):
            return invalid_value(message, column=column)
        if code == 1213:
            return retryable("deadlock detected", message)
        if code == 1205:
            return retryable("lock wait timeout", message)
        if code in _LOST or (2000 <= code < 2100 and code not in (2014,)):
            return connection_lost(self.alias, exc)
        return None

    async def introspect(self) -> dict[str, TableInfo]:
        tables = await self.fetch_all(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
        )
        found = {}
        for table in tables:
            name = table["name"]
            columns = [
                ColumnInfo(
                    c["name"],
                    str(c["type"]).lower(),
                    c["nullable"] == "YES",
                    c["key"] == "PRI",
                    c["dflt"],
                )
                for c in await self.fetch_all(
                    "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,"
                    " COLUMN_KEY AS `key`, COLUMN_DEFAULT AS dflt FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
                    " ORDER BY ORDINAL_POSITION",
                    name,
                )
            ]
            indexes: dict[str, tuple[list[str], bool]] = {}
            for row in await self.fetch_all(
                "SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS non_unique"
                " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
                " AND TABLE_NAME = %s AND INDEX_NAME <> 'PRIMARY'"
                " ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                name,
            ):
                indexes.setdefault(row["name"], ([], not row["non_unique"]))[0].append(row["col"])
            keys: dict[str, dict[str, Any]] = {}
            for row in await self.fetch_all(
                "SELECT k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col,"
                " k.REFERENCED_TABLE_NAME AS ref_table, k.REFERENCED_COLUMN_NAME AS ref_col,"
                " r.DELETE_RULE AS on_delete FROM information_schema.KEY_COLUMN_USAGE k"
                " JOIN information_schema.REFERENTIAL_CONSTRAINTS r"
                " ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
                " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME"
                " WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = %s"
                " ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
                name,
            ):
                entry = keys.setdefault(
                    row["name"],
                    {"cols": [], "ref": row["ref_table"], "refcols": [], "del": row["on_delete"]},
                )
                entry["cols"].append(row["col"])
                entry["refcols"].append(row["ref_col"])
            found[name] = TableInfo(
                name,
                columns,
                [IndexInfo(n, tuple(c), u) for n, (c, u) in indexes.items()],
                [
                    ForeignKeyInfo(
                        n, tuple(k["cols"]), k["ref"], tuple(k["refcols"]), str(k["del"]).lower()
                    )
                    for n, k in keys.items()
                ],
            )
        return found

    @contextlib.asynccontextmanager
    async def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> AsyncIterator[None]:
        """``GET_LOCK`` on a dedicated connection: released by the server if it drops."""
        asyncmy = import_driver("asyncmy", extra="maria", what="the maria db driver")
        conn = await asyncmy.connect(**self._connect_kwargs())
        key = f"{self.options.database}:{name}"[:64]
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("SELECT GET_LOCK(%s, %s)", (key, timeout_s))
                (got,) = await cursor.fetchone()
            if got != 1:
                raise lock_timeout(name, timeout_s)
            try:
                yield
            finally:
                async with conn.cursor() as cursor:
                    await cursor.execute("SELECT RELEASE_LOCK(%s)", (key,))
        finally:
            await conn.ensure_closed()


class _Lease:
    """A pooled connection; one that broke is closed so the pool opens a fresh one."""

    __slots__ = ("_db", "conn")

    def __init__(self, db: MariaDatabase) -> None:
        self._db = db
        self.conn: Any = None

    async def __aenter__(self) -> Any:
        self.conn = await self._db._pool.acquire()
        return self.conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None and isinstance(self._db.map_error(exc), ConnectionLost):
            self.conn.close()
        self._db._pool.release(self.conn)
