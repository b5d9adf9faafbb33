"""From the journal's tables to the models' tables: the ops of a migration, and their inverse.

Per table the ops come in an order every dialect can apply: renames, dropped foreign keys and
indexes, dropped columns, added columns, altered columns, added foreign keys, created indexes.
A ``Schema`` simulates the ops one by one so each table-rebuilding op (SQLite) carries the
table exactly as it is after that op — in ``up`` and in ``down``.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field
from typing import Any

from mega import MegaConfigError

from ..fields import Field
from ..schema import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    ForeignKeyDef,
    IndexDef,
    Op,
    RenameColumn,
    RenameTable,
    Table,
    constraint_name,
)
from .spec import table_to_spec


@dataclass
class Plan:
    up: list[Op] = field(default_factory=list)
    down: list[Op] = field(default_factory=list)
    #: "drop column users.age" — ops that lose data (need --allow-drop)
    destructive: list[str] = field(default_factory=list)
    #: drop + add pairs of the same shape without a rename hint (maybe a rename)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.up


def normalize(table: Table) -> Table:
    """A copy with per-column ``index=True`` turned into declared indexes (one list to diff)."""
    columns = []
    for column in table.columns:
        if column.index:
            column = copy.copy(column)
            column.index = False
        columns.append(column)
    return Table(table.name, columns, table.all_indexes(), table.partition)


def _shape(column: Field) -> dict[str, Any]:
    spec = column.spec()
    spec.pop("name")
    for key in ("references", "on_delete", "unique"):
        spec.pop(key, None)
    return spec


def diff(
    old: dict[str, Table], new: dict[str, Table], table_renames: dict[str, str] | None = None
) -> Plan:
    """The plan that turns the ``old`` tables into the ``new`` ones.

    ``table_renames`` maps a new table name to its previous one (``__renamed_from__``); column
    renames come from each new field's ``renamed_from``.
    """
    old = {name: normalize(t) for name, t in old.items()}
    new = {name: normalize(t) for name, t in new.items()}
    plan = Plan()
    steps: list[tuple[Op, Op]] = []
    for new_name, old_name in (table_renames or {}).items():
        if new_name in new and new_name not in old and old_name in old:
            steps.append((RenameTable(old_name, new_name), RenameTable(new_name, old_name)))
            moved = old.pop(old_name)
            old[new_name] = Table(new_name, moved.columns, moved.indexes, moved.partition)
    created = [name for name in new if name not in old]
    for name in _by_dependency(created, new):
        steps.append((CreateTable(new[name]), DropTable(name)))
    for name in sorted(set(old) & set(new)):
        steps += _diff_table(old[name], new[name], plan)
    for name in reversed(_by_dependency([n for n in old if n not in new], old)):
        plan.destructive.append(f"drop table {name}")
        steps.append((DropTable(name), CreateTable(old[name])))
    plan.up = [up for up, _ in steps]
    plan.down = [down for _, down in reversed(steps)]
    Schema(old_state(old, table_renames)).fill_targets(plan.up)
    Schema(new).fill_targets(plan.down)
    return plan


def old_state(old: dict[str, Table], renames: dict[str, str] | None) -> dict[str, Table]:
    """``old`` as it was before any table rename (the simulation starts there)."""
    state = dict(old)
    for new_name, old_name in (renames or {}).items():
        if new_name in state and old_name not in state:
            moved = state.pop(new_name)
            state[old_name] = Table(old_name, moved.columns, moved.indexes, moved.partition)
    return state


def _by_dependency(names: list[str], tables: dict[str, Table]) -> list[str]:
    """``names`` ordered so a table comes after the tables it references (among ``names``);
    of the tables ready at each point, the first by name (a stable order). Kahn's sort with a
    heap: linear in tables and references, where rescanning the pending list was cubic."""
    wanted = set(names)
    waits_for = {
        name: {fk.ref_table for fk in tables[name].foreign_keys()} & wanted - {name}
        for name in wanted
    }
    needed_by: dict[str, list[str]] = {name: [] for name in wanted}
    for name, refs in waits_for.items():
        for ref in refs:
            needed_by[ref].append(name)
    left = {name: len(refs) for name, refs in waits_for.items()}
    ready = [name for name, count in left.items() if count == 0]
    heapq.heapify(ready)
    ordered = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(name)
        for dependent in needed_by[name]:
            left[dependent] -= 1
            if left[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(ordered) < len(wanted):  # a cycle: the rest in name order (the dialect reports it)
        placed = set(ordered)
        ordered += sorted(n for n in wanted if n not in placed)
    return ordered


def _diff_table(old: Table, new: Table, plan: Plan) -> list[tuple[Op, Op]]:
    name = new.name
    if (old.partition is None) != (new.partition is None) or (
        old.partition and new.partition and old.partition != new.partition
    ):
        raise MegaConfigError(
            "migrate.unsupported_change",
            f"table {name!r}: changing how a table is partitioned is not generated; write a "
            "migration by hand (mega g migration) that copies the data into a new table",
            {"table": name},
        )
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    renames, drops, adds, alters = [], [], [], []
    for column in new.columns:
        hint = column.renamed_from
        if column.name not in old_cols and hint and hint in old_cols and hint not in new_cols:
            renames.append((hint, column.name))
    renamed_old = {old_name: new_name for old_name, new_name in renames}
    for column in old.columns:
        if column.name not in new_cols and column.name not in renamed_old:
            drops.append(column)
    for column in new.columns:
        if column.name in old_cols:
            before = old_cols[column.name]
        elif column.name in renamed_old.values():
            before = old_cols[next(o for o, n in renames if n == column.name)]
        else:
            adds.append(column)
            continue
        if column.unique != before.unique:
            raise MegaConfigError(
                "migrate.unsupported_change",
                f"column {name}.{column.name}: adding or removing unique on an existing column "
                "is not generated; declare an Index(..., unique=True) instead, or write the "
                "migration by hand",
                {"table": name, "column": column.name},
            )
        if _shape(column) != _shape(before):
            alters.append((before, column))
    for dropped in drops:
        plan.destructive.append(f"drop column {name}.{dropped.name}")
        for added in adds:
            if _shape(added) == _shape(dropped):
                plan.ambiguous.append(
                    f"{name}.{dropped.name} -> {name}.{added.name} (dropped and added with the "
                    f"same type: a rename? declare renamed_from={dropped.name!r} on the field)"
                )
    old_fks = {fk.name: fk for fk in old.foreign_keys()}
    new_fks = {fk.name: fk for fk in new.foreign_keys()}
    old_ix = {ix.name: ix for ix in old.indexes}
    new_ix = {ix.name: ix for ix in new.indexes}
    steps: list[tuple[Op, Op]] = []
    steps += [(RenameColumn(name, o, n), RenameColumn(name, n, o)) for o, n in renames]
    for fk_name, fk in old_fks.items():
        if fk_name not in new_fks or new_fks[fk_name] != _renamed_fk(fk, renamed_old):
            steps.append((DropForeignKey(name, fk_name), AddForeignKey(name, fk)))
    for ix_name, ix in old_ix.items():
        if ix_name not in new_ix or not _same_index(new_ix[ix_name], ix, renamed_old):
            steps.append((DropIndex(name, ix_name), CreateIndex(name, ix)))
    steps += [(DropColumn(name, c.name), AddColumn(name, c)) for c in drops]
    steps += [(AddColumn(name, c), DropColumn(name, c.name)) for c in adds]
    steps += [(AlterColumn(name, after), AlterColumn(name, before)) for before, after in alters]
    for fk_name, fk in new_fks.items():
        if fk_name not in old_fks or _renamed_fk(old_fks[fk_name], renamed_old) != fk:
            steps.append((AddForeignKey(name, fk), DropForeignKey(name, fk_name)))
    for ix_name, ix in new_ix.items():
        if ix_name not in old_ix or not _same_index(ix, old_ix[ix_name], renamed_old):
            steps.append((CreateIndex(name, ix), DropIndex(name, ix_name)))
    return steps


def _renamed_fk(fk: ForeignKeyDef, renamed: dict[str, str]) -> ForeignKeyDef:
    columns = tuple(renamed.get(c, c) for c in fk.columns)
    return ForeignKeyDef(fk.name, columns, fk.ref_table, fk.ref_columns, fk.on_delete)


def _same_index(new: IndexDef, old: IndexDef, renamed: dict[str, str]) -> bool:
    from .spec import condition_to_spec

    def where(ix: IndexDef) -> Any:
        return None if ix.where is None else condition_to_spec(ix.where)

    columns = tuple(renamed.get(c, c) for c in old.columns)
    return (new.columns, new.unique, where(new)) == (columns, old.unique, where(old))


class Schema:
    """Tables by name, changed op by op — to know each rebuild op's table afterwards."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = {name: _copy(t) for name, t in tables.items()}

    def fill_targets(self, ops: list[Op]) -> None:
        for op in ops:
            self.apply(op)
            if isinstance(op, AlterColumn | AddForeignKey | DropForeignKey):
                op.target = _copy(self.tables[op.table])

    def apply(self, op: Op) -> None:
        tables = self.tables
        if isinstance(op, CreateTable):
            tables[op.table.name] = _copy(normalize(op.table))
        elif isinstance(op, DropTable):
            tables.pop(op.name, None)
        elif isinstance(op, RenameTable):
            moved = tables.pop(op.old)
            tables[op.new] = Table(op.new, moved.columns, moved.indexes, moved.partition)
        elif isinstance(op, AddColumn | AlterColumn):
            table = tables[op.table]
            column = copy.copy(op.column)
            if isinstance(op, AlterColumn):
                kept = table.column(column.name)
                column.references, column.on_delete = kept.references, kept.on_delete
                table.columns = [column if c.name == column.name else c for c in table.columns]
            else:
                table.columns.append(column)
        elif isinstance(op, DropColumn):
            table = tables[op.table]
            table.columns = [c for c in table.columns if c.name != op.column]
        elif isinstance(op, RenameColumn):
            table = tables[op.table]
            for i, c in enumerate(table.columns):
                if c.name == op.old:
                    c = copy.copy(c)
                    c.name = op.new
                    table.columns[i] = c
            table.indexes = [
                IndexDef(
                    ix.name,
                    tuple(op.new if x == op.old else x for x in ix.columns),
                    ix.unique,
                    ix.where,
                )
                for ix in table.indexes
            ]
        elif isinstance(op, CreateIndex):
            tables[op.table].indexes.append(op.index)
        elif isinstance(op, DropIndex):
            table = tables[op.table]
            table.indexes = [ix for ix in table.indexes if ix.name != op.name]
        elif isinstance(op, AddForeignKey | DropForeignKey):
            table = tables[op.table]
            if isinstance(op, AddForeignKey):
                fk = op.foreign_key
                target, on_delete = f"{fk.ref_table}.{fk.ref_columns[0]}", fk.on_delete
                name = fk.columns[0]
            else:
                target, on_delete = None, "restrict"
                name = next(
                    c.name
                    for c in table.columns
                    if constraint_name("fk", table.name, [c.name]) == op.name
                )
            table.columns = [
                _with_reference(c, target, on_delete) if c.name == name else c
                for c in table.columns
            ]


def _with_reference(column: Field, target: str | None, on_delete: str) -> Field:
    column = copy.copy(column)
    column.references, column.on_delete = target, on_delete
    return column


def _copy(table: Table) -> Table:
    return Table(table.name, list(table.columns), list(table.indexes), table.partition)


__all__ = ["Plan", "Schema", "diff", "normalize", "table_to_spec"]
