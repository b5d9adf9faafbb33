"""``Dialect``: how one database spells SQL. Pure functions of models and ops, no I/O.

A dialect renders the CRUD statements (select, insert, update, upsert, delete, count) and the DDL
of schema ops, maps field kinds to column types, quotes identifiers, numbers placeholders and
converts values to and from what its driver stores. The base class speaks standard SQL; a dialect
overrides what its database spells differently. Its capability flags tell callers (migrations,
the conformance kit) what it can do.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import DbError, invalid
from .expressions import COMPARISONS, And, Compare, Condition, InList, IsNull, Like, Not, Or, Order
from .fields import MISSING
from .schema import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreatePartition,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    ForeignKeyDef,
    IndexDef,
    Op,
    RawSQL,
    RenameColumn,
    RenameTable,
    Table,
    constraint_name,
)

if TYPE_CHECKING:
    from .fields import Field
    from .model import Model

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Capabilities:
    """What a dialect can do; migrations and the conformance kit read these."""

    #: DDL runs inside a transaction and rolls back with it
    transactional_ddl: bool = False
    #: ``INSERT … RETURNING``
    returning: bool = False
    #: native range partitioning (else: a plain table, partitions ignored)
    partitioning: bool = False
    native_json: bool = False
    native_uuid: bool = False
    native_enum: bool = False
    #: nested transactions as savepoints
    savepoints: bool = True
    #: ``CREATE INDEX … WHERE``
    partial_indexes: bool = False
    #: AlterColumn works (in place, or by rebuilding the table)
    alter_column: bool = True
    #: AddForeignKey / DropForeignKey work on an existing table (in place, or by rebuilding)
    alter_foreign_keys: bool = True
    #: AlterColumn / AddForeignKey / DropForeignKey rebuild the table: the op needs ``target``
    rebuilds_tables: bool = False
    #: foreign keys may ``on_delete="cascade"`` / ``"set null"`` (else: restrict only)
    foreign_key_actions: bool = True
    #: a table other tables' foreign keys point at can be altered
    alter_referenced_tables: bool = True
    #: ``db.execute`` / ``fetch_*`` / ``stream_sql`` take SQL (a document dialect: no)
    raw_sql: bool = True
    #: foreign keys are declared in the schema and enforced by the server
    foreign_keys: bool = True
    #: ``db.transaction()`` is atomic (a document server may only offer it on replica sets)
    transactions: bool = True
    #: the smallest step of a stored datetime, in microseconds (BSON dates: 1000)
    datetime_resolution_us: int = 1
    #: why a flag is off, by flag name (the conformance kit shows it when it skips a case)
    reasons: dict[str, str] = dataclass_field(default_factory=dict, compare=False, hash=False)

    def reason(self, flag: str) -> str:
        """Why ``flag`` is off, as the dialect put it (or a generic sentence)."""
        return self.reasons.get(flag, f"the dialect declares {flag}=False")


class Unsupported(DbError):
    """The dialect cannot do what was asked (a capability it lacks)."""

    http_status = 500


def unsupported(dialect: str, what: str, hint: str = "") -> Unsupported:
    return Unsupported(
        "db.unsupported",
        f"the {dialect} dialect does not support {what}" + (f"; {hint}" if hint else ""),
        {"dialect": dialect, "what": what},
    )


class ModelPlan:
    """Everything about one model a dialect renders once and reuses for every query."""

    __slots__ = (
        "auto_now",
        "autoincrement",
        "column_set",
        "columns",
        "defaulted",
        "from_db",
        "model",
        "orders",
        "pk",
        "row",
        "rows",
        "select_list",
        "sql",
        "table",
        "to_db",
    )

    def __init__(self, dialect: Dialect, model: type[Model]) -> None:
        self.model = model
        #: resolved order_by specs ("name", ("a", "-b")) -> Order keys
        self.orders: dict[Any, list[Any]] = {}
        self.table = dialect.quote(model.__table__)
        self.columns = tuple(model.__fields__)
        self.pk = model.__primary_key__.name
        self.select_list = ", ".join(dialect.quote(c) for c in self.columns)
        self.to_db: dict[str, Converter] = {}
        self.from_db: list[tuple[int, str, Converter]] = []
        for position, (name, field) in enumerate(model.__fields__.items()):
            to_db, from_db = dialect.converters(field)
            if to_db is not None:
                self.to_db[name] = to_db
            if from_db is not None:
                self.from_db.append((position, name, from_db))
        self.column_set = frozenset(self.columns)
        key = model.__primary_key__
        self.autoincrement = key.autoincrement
        #: fields with a default, applied on insert when the row leaves them out
        self.defaulted = tuple(
            (name, field)
            for name, field in model.__fields__.items()
            if field.default is not MISSING
        )
        #: fields stamped with the current time on every update
        self.auto_now = tuple(
            name for name, field in model.__fields__.items() if getattr(field, "auto_now", False)
        )
        #: statements that depend only on the model (get by key, insert of given columns…)
        self.sql: dict[Any, str] = {}
        #: ``row(values)``: a driver row (positional, in ``columns`` order) as a dict of Python
        #: values; ``rows(list)``: the same for many
        self.row, self.rows = _row_builders(self.columns, self.from_db)

    def encode(self, name: str, value: Any) -> Any:
        convert = self.to_db.get(name)
        return value if convert is None or value is None else convert(value)


def _row_builders(
    columns: tuple[str, ...], from_db: list[tuple[int, str, Converter]]
) -> tuple[Callable[[Sequence[Any]], dict[str, Any]], Callable[[Any], list[dict[str, Any]]]]:
    """Functions compiled for one model that turn driver rows into dicts.

    A dict display with the values unpacked into locals is ~2.4x faster than
    ``dict(zip(columns, row))`` and converts in the same pass. Only generated names (``v0``…,
    ``f0``…) appear in the code; column names enter as string constants through ``repr``.
    """
    converters = {position: convert for position, _, convert in from_db}
    names = [f"v{i}" for i in range(len(columns))]
    items = []
    for i, column in enumerate(columns):
        value = names[i]
        if i in converters:
            value = f"None if {value} is None else f{i}({value})"
        items.append(f"{column!r}: {value}")
    unpack = ", ".join(names) + ","
    display = "{" + ", ".join(items) + "}"
    source = (
        f"def row(values):\n    {unpack} = values\n    return {display}\n"
        f"def rows(many):\n    return [{display} for {unpack} in many]\n"
    )
    scope: dict[str, Any] = {f"f{i}": convert for i, convert in converters.items()}
    exec(compile(source, f"<mega row builder {columns!r}>", "exec"), scope)
    return scope["row"], scope["rows"]


class Dialect:
    """Standard SQL; subclasses override what their database spells differently."""

    name: ClassVar[str] = "ansi"
    capabilities: ClassVar[Capabilities] = Capabilities()
    quote_char: ClassVar[str] = '"'
    #: how ``Like`` renders (``ESCAPE`` clause included)
    like_escape: ClassVar[str] = " ESCAPE '\\'"

    def __init__(self) -> None:
        self._plans: dict[type[Model], ModelPlan] = {}

    # -- basics -----------------------------------------------------------------------------

    def quote(self, identifier: str) -> str:
        q = self.quote_char
        return f"{q}{identifier.replace(q, q + q)}{q}"

    def placeholder(self, position: int) -> str:
        """The placeholder of the ``position``-th parameter (1-based)."""
        return "?"

    def plan(self, model: type[Model]) -> ModelPlan:
        found = self._plans.get(model)
        if found is None:
            if getattr(model, "__abstract__", True):
                raise invalid(
                    "abstract_model",
                    f"{getattr(model, '__name__', model)!r} is not a concrete model; query a "
                    "Model subclass that declares fields",
                    model=repr(model),
                )
            found = self._plans[model] = ModelPlan(self, model)
        return found

    def converters(self, field: Field) -> tuple[Converter | None, Converter | None]:
        """``(to_db, from_db)`` for ``field``'s values; None where the driver already agrees."""
        kind = field.kind
        if kind == "datetime":
            return to_utc, None
        if kind == "json":
            return json_dumps, json.loads
        if kind == "enum":
            return enum_value, None
        return None, None

    def literal(self, value: Any, field: Field | None = None) -> str:
        """``value`` as an SQL literal, for DDL (defaults, partial indexes, partition bounds)."""
        if field is not None and value is not None:
            to_db, _ = self.converters(field)
            if to_db is not None:
                value = to_db(value)
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | decimal.Decimal):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} has no SQL literal")
            return repr(value)
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        if isinstance(value, bytes):
            return f"X'{value.hex()}'"
        if isinstance(value, uuid.UUID):
            value = str(value)
        if not isinstance(value, str):
            value = json.dumps(value)
        return self.string_literal(value)

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    # -- conditions -------------------------------------------------------------------------

    def condition(
        self, model: type[Model], cond: Condition, params: list[Any], *, inline: bool = False
    ) -> str:
        """Render ``cond``; values are appended to ``params`` (or inlined as literals for DDL)."""
        if isinstance(cond, Compare):
            field = self._own_field(model, cond.field)
            return f"{self.quote(field.name)} {COMPARISONS[cond.op]} " + self._value(
                field, cond.value, params, inline
            )
        if isinstance(cond, IsNull):
            field = self._own_field(model, cond.field)
            return f"{self.quote(field.name)} IS {'NOT ' if cond.negate else ''}NULL"
        if isinstance(cond, InList):
            field = self._own_field(model, cond.field)
            if not cond.values:  # x IN () is a syntax error; its meaning is "never"
                return "1 = 1" if cond.negate else "1 = 0"
            values = ", ".join(self._value(field, v, params, inline) for v in cond.values)
            return f"{self.quote(field.name)} {'NOT IN' if cond.negate else 'IN'} ({values})"
        if isinstance(cond, Like):
            field = self._own_field(model, cond.field)
            pattern = self._raw_value(cond.pattern, params, inline)
            return self.like(self.quote(field.name), pattern, cond.case_insensitive, cond.negate)
        if isinstance(cond, And | Or):
            joiner = " AND " if isinstance(cond, And) else " OR "
            return (
                "("
                + joiner.join(self.condition(model, c, params, inline=inline) for c in cond.items)
                + ")"
            )
        if isinstance(cond, Not):
            return f"NOT ({self.condition(model, cond.item, params, inline=inline)})"
        raise invalid(
            "invalid_condition",
            f"{cond!r} is not a query condition; build conditions from model fields "
            "(User.age >= 18, User.name.like('a%'))",
            condition=repr(cond),
        )

    def like(self, column: str, pattern: str, case_insensitive: bool, negate: bool) -> str:
        op = "NOT LIKE" if negate else "LIKE"
        if case_insensitive:
            return f"LOWER({column}) {op} LOWER({pattern}){self.like_escape}"
        return f"{column} {op} {pattern}{self.like_escape}"

    def _own_field(self, model: type[Model], field: Any) -> Field:
        from .fields import Field

        if not isinstance(field, Field) or getattr(field, "model", None) is not model:
            owner = getattr(getattr(field, "model", None), "__name__", "?")
            raise invalid(
                "foreign_field",
                f"a condition on {owner}.{getattr(field, 'name', field)} was used in a query "
                f"on {model.__name__}; use {model.__name__}'s own fields",
                model=model.__name__,
            )
        return field

    def _value(self, field: Field, value: Any, params: list[Any], inline: bool) -> str:
        if inline:
            return self.literal(value, field)
        plan = self._plans.get(field.model) or self.plan(field.model)
        params.append(plan.encode(field.name, value))
        return self.placeholder(len(params))

    def _raw_value(self, value: Any, params: list[Any], inline: bool) -> str:
        if inline:
            return self.literal(value)
        params.append(value)
        return self.placeholder(len(params))

    def order(self, model: type[Model], keys: Sequence[Order]) -> str:
        return ", ".join(
            f"{self.quote(self._own_field(model, k.field).name)}{' DESC' if k.descending else ''}"
            for k in keys
        )

    # -- statements -------------------------------------------------------------------------

    def limit_values(self, limit: int | None, offset: int | None, params: list[Any]) -> None:
        """The parameters ``limit`` adds, without rendering it (a cached statement's values).

        A dialect that overrides ``limit`` gets its override called here unless it also
        overrides this method (cheaper: no string is built)."""
        if type(self).limit is not Dialect.limit:
            self.limit(limit, offset, params)
            return
        if limit is not None:
            params.append(limit)
        if offset:
            params.append(offset)

    def limit(self, limit: int | None, offset: int | None, params: list[Any]) -> str:
        sql = ""
        if limit is not None:
            params.append(limit)
            sql += f" LIMIT {self.placeholder(len(params))}"
        if offset:
            params.append(offset)
            sql += f" OFFSET {self.placeholder(len(params))}"
        return sql

    def select(
        self,
        model: type[Model],
        where: Condition | None,
        order: Sequence[Order],
        limit: int | None,
        offset: int | None,
    ) -> tuple[str, list[Any]]:
        plan = self.plan(model)
        # the statement depends on the query's shape only: render a shape once, and for the
        # next query of that shape only collect its values
        key = (
            "select",
            _shape(where),
            tuple([(id(o.field), o.descending) for o in order]),  # (a list: no generator)
            limit is not None,
            bool(offset),
        )
        found = plan.sql.get(key)
        if found is not None:
            params = _values(plan, where, [])
            self.limit_values(limit, offset, params)  # the SQL is cached; only its values
            return found, params
        params = []
        sql = f"SELECT {plan.select_list} FROM {plan.table}"
        if where is not None:
            sql += " WHERE " + self.condition(model, where, params)
        if order:
            sql += " ORDER BY " + self.order(model, order)
        sql += self.limit(limit, offset, params)
        if len(plan.sql) < 512:
            plan.sql[key] = sql
        return sql, params

    def select_by_key(self, model: type[Model]) -> str:
        plan = self.plan(model)
        found = plan.sql.get("get")
        if found is None:
            found = plan.sql["get"] = (
                f"SELECT {plan.select_list} FROM {plan.table} "
                f"WHERE {self.quote(plan.pk)} = {self.placeholder(1)}"
            )
        return found

    def count(self, model: type[Model], where: Condition | None) -> tuple[str, list[Any]]:
        params: list[Any] = []
        sql = f"SELECT COUNT(*) FROM {self.plan(model).table}"
        if where is not None:
            sql += " WHERE " + self.condition(model, where, params)
        return sql, params

    def exists(self, model: type[Model], where: Condition | None) -> tuple[str, list[Any]]:
        params: list[Any] = []
        sql = f"SELECT 1 FROM {self.plan(model).table}"
        if where is not None:
            sql += " WHERE " + self.condition(model, where, params)
        return sql + " LIMIT 1", params

    def insert(
        self, model: type[Model], columns: tuple[str, ...], rows: int, returning: bool
    ) -> str:
        """``INSERT`` of ``rows`` rows of ``columns``, returning the key when asked and able."""
        plan = self.plan(model)
        key = ("insert", columns, rows, returning)
        found = plan.sql.get(key)
        if found is None:
            width = len(columns)
            names = ", ".join(self.quote(c) for c in columns)
            values = ", ".join(
                "(" + ", ".join(self.placeholder(r * width + i + 1) for i in range(width)) + ")"
                for r in range(rows)
            )
            if not columns:
                found = self.insert_defaults(plan.table)
            else:
                found = f"INSERT INTO {plan.table} ({names}) VALUES {values}"
            if returning and self.capabilities.returning:
                found += f" RETURNING {self.quote(plan.pk)}"
            if len(plan.sql) < 512:  # batch sizes vary; keep the cache bounded
                plan.sql[key] = found
        return found

    def insert_defaults(self, table: str) -> str:
        return f"INSERT INTO {table} DEFAULT VALUES"

    def update(
        self, model: type[Model], values: dict[str, Any], where: Condition | None
    ) -> tuple[str, list[Any]]:
        plan = self.plan(model)
        params: list[Any] = []
        assignments = []
        for name, value in values.items():
            params.append(plan.encode(name, value))
            assignments.append(f"{self.quote(name)} = {self.placeholder(len(params))}")
        sql = f"UPDATE {plan.table} SET {', '.join(assignments)}"
        if where is not None:
            sql += " WHERE " + self.condition(model, where, params)
        return sql, params

    def delete(self, model: type[Model], where: Condition | None) -> tuple[str, list[Any]]:
        params: list[Any] = []
        sql = f"DELETE FROM {self.plan(model).table}"
        if where is not None:
            sql += " WHERE " + self.condition(model, where, params)
        return sql, params

    def upsert(
        self,
        model: type[Model],
        columns: tuple[str, ...],
        conflict: tuple[str, ...],
        update: tuple[str, ...],
    ) -> str:
        """Insert one row; on a conflict on ``conflict`` update ``update`` (none: keep the row)."""
        sql = self.insert(model, columns, 1, returning=False)
        target = ", ".join(self.quote(c) for c in conflict)
        if not update:
            return f"{sql} ON CONFLICT ({target}) DO NOTHING"
        sets = ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in update)
        return f"{sql} ON CONFLICT ({target}) DO UPDATE SET {sets}"

    # -- DDL --------------------------------------------------------------------------------

    def column_type(self, field: Field) -> str:
        """The column type of ``field`` in this dialect."""
        kind = field.kind
        if kind == "string":
            return f"VARCHAR({field.length})"  # type: ignore[attr-defined]
        if kind == "decimal":
            return f"NUMERIC({field.precision}, {field.scale})"  # type: ignore[attr-defined]
        return self.TYPES[kind]

    TYPES: ClassVar[dict[str, str]] = {
        "int": "INTEGER",
        "bigint": "BIGINT",
        "text": "TEXT",
        "bool": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "float": "DOUBLE PRECISION",
        "json": "TEXT",
        "uuid": "UUID",
        "enum": "TEXT",
        "bytes": "BLOB",
    }

    def column_definition(self, table: str, field: Field, *, inline_pk: bool = True) -> str:
        parts = [self.quote(field.name), self.column_type(field)]
        if field.primary_key and field.autoincrement and inline_pk:
            return " ".join([*parts[:1], self.autoincrement_column(table, field)])
        if not field.nullable:
            parts.append("NOT NULL")
        if field.default is not MISSING and not callable(field.default) and not field.primary_key:
            parts.append(f"DEFAULT {self.literal(field.default, field)}")
        if field.primary_key and inline_pk:
            parts.append("PRIMARY KEY")
        check = self.enum_check(table, field)
        if check:
            parts.append(check)
        return " ".join(parts)

    def autoincrement_column(self, table: str, field: Field) -> str:
        """Type and constraints of an autoincrement primary key (after its quoted name)."""
        return f"{self.column_type(field)} GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def enum_check(self, table: str, field: Field) -> str:
        if field.kind != "enum" or self.capabilities.native_enum:
            return ""
        values = ", ".join(self.literal(v) for v in field.values)  # type: ignore[attr-defined]
        name = self.quote(constraint_name("ck", table, [field.name]))
        return f"CONSTRAINT {name} CHECK ({self.quote(field.name)} IN ({values}))"

    def foreign_key_clause(self, fk: ForeignKeyDef) -> str:
        if fk.on_delete in ("cascade", "set null") and not self.capabilities.foreign_key_actions:
            raise unsupported(
                self.name,
                f'on_delete="{fk.on_delete}" (foreign key {fk.name!r})',
                'use on_delete="restrict" and delete the children first',
            )
        return (
            f"CONSTRAINT {self.quote(fk.name)} FOREIGN KEY "
            f"({', '.join(self.quote(c) for c in fk.columns)}) REFERENCES "
            f"{self.quote(fk.ref_table)} ({', '.join(self.quote(c) for c in fk.ref_columns)}) "
            f"ON DELETE {fk.on_delete.upper()}"
        )

    def create_table(self, table: Table) -> list[str]:
        lines = [self.column_definition(table.name, c) for c in table.columns]
        for column in table.unique_columns():
            name = constraint_name("uq", table.name, [column.name])
            lines.append(f"CONSTRAINT {self.quote(name)} UNIQUE ({self.quote(column.name)})")
        lines.extend(self.foreign_key_clause(fk) for fk in table.foreign_keys())
        sql = f"CREATE TABLE {self.quote(table.name)} (\n  " + ",\n  ".join(lines) + "\n)"
        sql += self.table_suffix(table)
        return [sql, *(self.create_index(table.name, i) for i in table.all_indexes())]

    def table_suffix(self, table: Table) -> str:
        return ""

    def create_index(self, table: str, index: IndexDef) -> str:
        columns = ", ".join(self.quote(c) for c in index.columns)
        sql = (
            f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {self.quote(index.name)} "
            f"ON {self.quote(table)} ({columns})"
        )
        if index.where is not None:
            if not self.capabilities.partial_indexes:
                raise unsupported(self.name, f"partial indexes (index {index.name!r})")
            model = model_of(index.where)
            sql += " WHERE " + self.condition(model, index.where, [], inline=True)
        return sql

    def drop_index(self, table: str, name: str) -> str:
        return f"DROP INDEX {self.quote(name)}"

    def alter_column(self, op: AlterColumn) -> list[str]:
        raise unsupported(self.name, "altering a column in place")

    def add_foreign_key(self, op: AddForeignKey) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} ADD {self.foreign_key_clause(op.foreign_key)}"]

    def drop_foreign_key(self, op: DropForeignKey) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} DROP CONSTRAINT {self.quote(op.name)}"]

    def create_partition(self, op: CreatePartition) -> list[str]:
        return []  # no native partitioning: the parent is a plain table holding every row

    def ddl(self, op: Op) -> list[str]:
        """The statements that apply ``op``, in order."""
        q = self.quote
        if isinstance(op, CreateTable):
            return self.create_table(op.table)
        if isinstance(op, DropTable):
            return [f"DROP TABLE {q(op.name)}"]
        if isinstance(op, RenameTable):
            return [f"ALTER TABLE {q(op.old)} RENAME TO {q(op.new)}"]
        if isinstance(op, AddColumn):
            column = self.column_definition(op.table, op.column)
            sqls = [f"ALTER TABLE {q(op.table)} ADD COLUMN {column}"]
            if op.column.unique:
                name = constraint_name("uq", op.table, [op.column.name])
                sqls.append(
                    self.create_index(op.table, IndexDef(name, (op.column.name,), unique=True))
                )
            return sqls
        if isinstance(op, DropColumn):
            return [f"ALTER TABLE {q(op.table)} DROP COLUMN {q(op.column)}"]
        if isinstance(op, RenameColumn):
            return [f"ALTER TABLE {q(op.table)} RENAME COLUMN {q(op.old)} TO {q(op.new)}"]
        if isinstance(op, AlterColumn):
            if not self.capabilities.alter_column:
                raise unsupported(
                    self.name,
                    f"altering column {op.table}.{op.column.name}",
                    "add a new column, copy the values over, and drop the old one",
                )
            return self.alter_column(op)
        if isinstance(op, CreateIndex):
            return [self.create_index(op.table, op.index)]
        if isinstance(op, DropIndex):
            return [self.drop_index(op.table, op.name)]
        if isinstance(op, AddForeignKey | DropForeignKey):
            if not self.capabilities.alter_foreign_keys:
                raise unsupported(
                    self.name,
                    "adding or dropping a foreign key on an existing table",
                    "declare it when the table is created",
                )
            if isinstance(op, AddForeignKey):
                return self.add_foreign_key(op)
            return self.drop_foreign_key(op)
        if isinstance(op, CreatePartition):
            return self.create_partition(op)
        if isinstance(op, RawSQL):
            return [op.sql] if op.dialects is None or self.name in op.dialects else []
        raise TypeError(f"{op!r} is not a schema operation")


def _shape(cond: Condition | None) -> Any:
    """What the SQL of ``cond`` depends on (fields by identity, operators, list lengths)."""
    if cond is None:
        return None
    if isinstance(cond, Compare):
        return ("c", id(cond.field), cond.op)
    if isinstance(cond, IsNull):
        return ("n", id(cond.field), cond.negate)
    if isinstance(cond, InList):
        return ("i", id(cond.field), len(cond.values), cond.negate)
    if isinstance(cond, Like):
        return ("l", id(cond.field), cond.case_insensitive, cond.negate)
    if isinstance(cond, And | Or):
        return ("a" if isinstance(cond, And) else "o", tuple(_shape(c) for c in cond.items))
    if isinstance(cond, Not):
        return ("!", _shape(cond.item))
    return ("?", id(cond))  # not a condition: never cached, rendering raises


def _values(plan: ModelPlan, cond: Condition | None, out: list[Any]) -> list[Any]:
    """The parameters of ``cond`` in the order ``Dialect.condition`` renders them."""
    if cond is None or isinstance(cond, IsNull):
        return out
    if isinstance(cond, Compare):
        out.append(plan.encode(cond.field.name, cond.value))
    elif isinstance(cond, InList):
        out.extend(plan.encode(cond.field.name, v) for v in cond.values)
    elif isinstance(cond, Like):
        out.append(cond.pattern)
    elif isinstance(cond, And | Or):
        for item in cond.items:
            _values(plan, item, out)
    elif isinstance(cond, Not):
        _values(plan, cond.item, out)
    return out


def model_of(cond: Condition) -> type[Model]:
    """The model whose field a condition is about (a partial index's ``where`` carries no
    model of its own)."""
    node: Any = cond
    while not hasattr(node, "field"):
        node = node.items[0] if hasattr(node, "items") else node.item
    return node.field.model  # type: ignore[no-any-return]


# -- value converters shared by dialects -------------------------------------------------------


def to_utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC; a naive one is refused (its zone would be a guess)."""
    if not isinstance(value, dt.datetime):
        raise invalid("invalid_value", f"expected a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid(
            "naive_datetime",
            f"datetime {value.isoformat()} has no time zone; pass an aware datetime "
            "(datetime.now(UTC), or .replace(tzinfo=...))",
            value=value.isoformat(),
        )
    return value.astimezone(dt.UTC)


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
