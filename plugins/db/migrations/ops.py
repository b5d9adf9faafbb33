"""What migration files are written in: ``Migration(up=[...], down=[...])`` of ``op.*`` calls.

Every builder takes plain data (names, column and table specs as ``Field.spec()`` /
``table_to_spec`` write them), so a migration file is self-contained: it never imports the
app's models, and keeps meaning the same thing after the models change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..fields import field_from_spec
from ..schema import (
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
)
from .spec import condition_from_spec, table_from_spec


@dataclass
class Migration:
    """A migration: ``up`` ops, their inverse ``down`` (applied in order), and whether it may
    run in one transaction (``transactional=False`` for ops that cannot, e.g. a concurrent
    index build; dialects without transactional DDL never can)."""

    up: list[Op]
    down: list[Op] = field(default_factory=list)
    transactional: bool = True
    #: set by the loader: the file's name without ``.py`` and its sha256
    name: str = ""
    checksum: str = ""


def _table(spec: dict[str, Any] | None) -> Any:
    return None if spec is None else table_from_spec(spec)


def create_table(spec: dict[str, Any]) -> CreateTable:
    return CreateTable(table_from_spec(spec))


def drop_table(name: str) -> DropTable:
    return DropTable(name)


def rename_table(old: str, new: str) -> RenameTable:
    return RenameTable(old, new)


def add_column(table: str, column: dict[str, Any]) -> AddColumn:
    return AddColumn(table, field_from_spec(column))


def drop_column(table: str, name: str) -> DropColumn:
    return DropColumn(table, name)


def rename_column(table: str, old: str, new: str) -> RenameColumn:
    return RenameColumn(table, old, new)


def alter_column(
    table: str, column: dict[str, Any], target: dict[str, Any] | None = None
) -> AlterColumn:
    """Change a column to ``column`` (type, nullability, default); ``target`` is the whole
    table afterwards, for dialects that rebuild tables (SQLite)."""
    target_table = _table(target)
    if target_table is not None:
        return AlterColumn(table, target_table.column(column["name"]), target_table)
    return AlterColumn(table, field_from_spec(column))


def create_index(table: str, index: dict[str, Any], target: dict[str, Any] | None = None) -> Op:
    where = index.get("where")
    condition = None
    if where is not None:
        if target is None:
            raise ValueError(f"partial index {index['name']!r} needs target=<table spec>")
        condition = condition_from_spec(where, {c.name: c for c in table_from_spec(target).columns})
    return CreateIndex(
        table,
        IndexDef(index["name"], tuple(index["columns"]), index.get("unique", False), condition),
    )


def drop_index(table: str, name: str) -> DropIndex:
    return DropIndex(table, name)


def add_foreign_key(
    table: str, foreign_key: dict[str, Any], target: dict[str, Any] | None = None
) -> AddForeignKey:
    fk = ForeignKeyDef(
        foreign_key["name"],
        tuple(foreign_key["columns"]),
        foreign_key["ref_table"],
        tuple(foreign_key["ref_columns"]),
        foreign_key.get("on_delete", "restrict"),
    )
    return AddForeignKey(table, fk, _table(target))


def drop_foreign_key(table: str, name: str, target: dict[str, Any] | None = None) -> DropForeignKey:
    return DropForeignKey(table, name, _table(target))


def create_partition(parent: str, name: str, start: str, end: str) -> CreatePartition:
    """A partition holding ``start <= column < end`` (ISO dates or datetimes)."""
    return CreatePartition(parent, name, _when(start), _when(end))


def sql(statement: str, *, dialects: tuple[str, ...] | list[str] | None = None) -> RawSQL:
    """SQL run as written (a data step); ``dialects`` limits it to some dialects."""
    return RawSQL(statement, None if dialects is None else tuple(dialects))


def _when(text: str) -> dt.date | dt.datetime:
    return dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
