"""Dialect-neutral schema: table definitions, the operations that change a schema, and what
introspection reads back from a live database.

Models build ``Table``s; the migrations issue diffs them into ``Op``s; each dialect renders ops
to its DDL (``Dialect.ddl``) and reads the live schema back (``Database.introspect``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .expressions import Condition

if TYPE_CHECKING:
    from .fields import Field

#: PostgreSQL's identifier limit (63) is the smallest of the builtin dialects'
MAX_IDENTIFIER = 63


def constraint_name(prefix: str, table: str, columns: tuple[str, ...] | list[str]) -> str:
    """``<prefix>_<table>_<cols>``, shortened with a hash past 63 characters."""
    name = f"{prefix}_{table}_{'_'.join(columns)}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"


class Index:
    """An index on a model: ``Index("last_name", "first_name")``, ``Index("email", unique=True,
    where=deleted_at.is_null())`` (a partial index, on dialects that support them)."""

    def __init__(
        self,
        *columns: str | Field,
        unique: bool = False,
        name: str | None = None,
        where: Condition | None = None,
    ) -> None:
        if not columns:
            raise ValueError("Index() needs at least one column")
        self.columns = columns
        self.unique = unique
        self.name = name
        self.where = where

    def resolve(self, table: str) -> IndexDef:
        names = tuple(c if isinstance(c, str) else c.name for c in self.columns)
        prefix = "uq" if self.unique else "ix"
        return IndexDef(
            self.name or constraint_name(prefix, table, names), names, self.unique, self.where
        )


@dataclass(frozen=True)
class IndexDef:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: Condition | None = None


@dataclass(frozen=True)
class ForeignKeyDef:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "restrict"


@dataclass(frozen=True)
class PartitionBy:
    """Range partitioning by a date/datetime column (``__partition__ = PartitionBy("at")``).

    Dialects without partitioning create a plain table and ignore ``CreatePartition``."""

    column: str
    interval: str = "month"


@dataclass
class Table:
    """A table definition: what ``CreateTable`` creates."""

    name: str
    columns: list[Field]
    indexes: list[IndexDef] = field(default_factory=list)
    partition: PartitionBy | None = None

    @property
    def primary_key(self) -> list[Field]:
        return [c for c in self.columns if c.primary_key]

    def column(self, name: str) -> Field:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def foreign_keys(self) -> list[ForeignKeyDef]:
        keys = []
        for column in self.columns:
            reference = column.reference()
            if reference:
                keys.append(
                    ForeignKeyDef(
                        constraint_name("fk", self.name, [column.name]),
                        (column.name,),
                        reference[0],
                        (reference[1],),
                        column.on_delete,
                    )
                )
        return keys

    def unique_columns(self) -> list[Field]:
        return [c for c in self.columns if c.unique and not c.primary_key]

    def all_indexes(self) -> list[IndexDef]:
        """Declared indexes plus one per ``index=True`` column."""
        extra = [
            IndexDef(constraint_name("ix", self.name, [c.name]), (c.name,))
            for c in self.columns
            if c.index and not c.unique and not c.primary_key
        ]
        return [*extra, *self.indexes]


# -- operations --------------------------------------------------------------------------------


class Op:
    """A schema operation; ``Dialect.ddl(op)`` renders it."""


@dataclass
class CreateTable(Op):
    table: Table


@dataclass
class DropTable(Op):
    name: str


@dataclass
class RenameTable(Op):
    old: str
    new: str


@dataclass
class AddColumn(Op):
    table: str
    column: Field


@dataclass
class DropColumn(Op):
    table: str
    column: str


@dataclass
class RenameColumn(Op):
    table: str
    old: str
    new: str


@dataclass
class AlterColumn(Op):
    """Change a column's type, nullability or default to ``column``'s.

    ``target`` is the whole table after the change: dialects that cannot alter a column in place
    (SQLite) rebuild the table from it."""

    table: str
    column: Field
    target: Table | None = None


@dataclass
class CreateIndex(Op):
    table: str
    index: IndexDef


@dataclass
class DropIndex(Op):
    table: str
    name: str


@dataclass
class AddForeignKey(Op):
    table: str
    foreign_key: ForeignKeyDef
    target: Table | None = None


@dataclass
class DropForeignKey(Op):
    table: str
    name: str
    target: Table | None = None


@dataclass
class CreatePartition(Op):
    """A child of a partitioned table holding ``start <= column < end``."""

    parent: str
    name: str
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime


@dataclass
class RawSQL(Op):
    """SQL a migration runs as is; ``dialects`` limits it to some dialects (None: all)."""

    sql: str
    dialects: tuple[str, ...] | None = None


# -- introspection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnInfo:
    """A live column, as ``Database.introspect`` reads it back."""

    name: str
    #: the dialect's own type name, lower case (``varchar(40)``, ``bigint``, ``text``)
    type: str
    #: False for a primary key column, whatever the server reports
    nullable: bool
    primary_key: bool = False
    #: the server's own text of the default expression (``'member'::text``, ``0``), or None
    default: Any = None


@dataclass(frozen=True)
class IndexInfo:
    """A live index, the primary key's left out. A UNIQUE constraint is reported as a unique
    index too, named ``constraint_name("uq", table, columns)`` where the server keeps no name
    (SQLite), so a model's ``unique=True`` column reads back the same on every dialect."""

    name: str
    #: the indexed columns, in index order
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKeyInfo:
    """A live foreign key: ``columns`` of this table referencing ``ref_columns`` of
    ``ref_table``."""

    #: the constraint's name; None where the server keeps none (SQLite)
    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    #: lower case: ``"restrict"``, ``"cascade"``, ``"set null"``, ``"no action"``
    on_delete: str


@dataclass
class TableInfo:
    """A live table, as ``Database.introspect`` returns it (``{name: TableInfo}``); the
    migrations' drift check and the conformance kit compare it with the models."""

    name: str
    #: in the table's column order
    columns: list[ColumnInfo]
    indexes: list[IndexInfo] = field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)
    #: names of partitions, for a partitioned table
    partitions: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnInfo:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]
