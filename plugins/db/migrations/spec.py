"""Tables as JSON-ready specs, and back: what the journal's snapshot and migration files hold.

A table spec is ``{"name", "columns": [Field.spec()...], "indexes": [...], "partition"}``.
Partial-index conditions are stored as small trees (``{"op": "is_null", "column": "x"}``).
Reading a spec back builds a throw-away model class, so conditions get real fields and every
dialect renders the table exactly as it renders the app's own model.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any, cast

from ..expressions import And, Compare, Condition, InList, IsNull, Like, Not, Or
from ..fields import Field, field_from_spec
from ..model import Model
from ..schema import IndexDef, PartitionBy, Table


def table_to_spec(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "columns": [column.spec() for column in table.columns],
        "indexes": [index_to_spec(index) for index in table.indexes],
        "partition": None
        if table.partition is None
        else {"column": table.partition.column, "interval": table.partition.interval},
    }


def index_to_spec(index: IndexDef) -> dict[str, Any]:
    return {
        "name": index.name,
        "columns": list(index.columns),
        "unique": index.unique,
        "where": None if index.where is None else condition_to_spec(index.where),
    }


def condition_to_spec(cond: Condition) -> dict[str, Any]:
    if isinstance(cond, Compare):
        return {"op": cond.op, "column": cond.field.name, "value": _json(cond.value)}
    if isinstance(cond, IsNull):
        return {"op": "is_null", "column": cond.field.name, "negate": cond.negate}
    if isinstance(cond, InList):
        return {"op": "in", "column": cond.field.name, "values": [_json(v) for v in cond.values],
                "negate": cond.negate}  # fmt: skip
    if isinstance(cond, Like):
        return {"op": "like", "column": cond.field.name, "pattern": cond.pattern,
                "case_insensitive": cond.case_insensitive, "negate": cond.negate}  # fmt: skip
    if isinstance(cond, And | Or):
        return {"op": "and" if isinstance(cond, And) else "or",
                "items": [condition_to_spec(item) for item in cond.items]}  # fmt: skip
    if isinstance(cond, Not):
        return {"op": "not", "item": condition_to_spec(cond.item)}
    raise TypeError(f"{cond!r} is not a condition")


def _json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def condition_from_spec(spec: dict[str, Any], fields: dict[str, Field]) -> Condition:
    op = spec["op"]
    if op in ("and", "or"):
        items = tuple(condition_from_spec(item, fields) for item in spec["items"])
        return And(items) if op == "and" else Or(items)
    if op == "not":
        return Not(condition_from_spec(spec["item"], fields))
    field = fields[spec["column"]]
    if op == "is_null":
        return IsNull(field, spec.get("negate", False))
    if op == "in":
        return InList(field, tuple(spec["values"]), spec.get("negate", False))
    if op == "like":
        return Like(field, spec["pattern"], spec.get("case_insensitive", False),
                    spec.get("negate", False))  # fmt: skip
    return Compare(field, op, spec["value"])


def table_from_spec(spec: dict[str, Any]) -> Table:
    """The ``Table`` a spec describes (its columns bound to a throw-away model)."""
    fields = {column["name"]: field_from_spec(column) for column in spec["columns"]}
    partition = spec.get("partition")
    attrs: dict[str, Any] = {
        "__table__": spec["name"],
        "__module__": __name__,
        "__partition__": None if partition is None else PartitionBy(**partition),
        **fields,
    }
    model = cast("type[Model]", type(f"Snapshot_{spec['name']}", (Model,), attrs))
    indexes = []
    for index in spec.get("indexes", ()):
        where = index.get("where")
        condition = None if where is None else condition_from_spec(where, model.__fields__)
        indexes.append(
            IndexDef(index["name"], tuple(index["columns"]), index.get("unique", False), condition)
        )
    table = model.table_def()
    table.indexes = indexes
    return table


def snapshot_of(tables: dict[str, Table]) -> dict[str, Any]:
    """The journal snapshot of a set of tables (sorted by name: stable files, small diffs)."""
    return {"version": 1, "tables": {name: table_to_spec(tables[name]) for name in sorted(tables)}}


__all__ = [
    "condition_from_spec",
    "condition_to_spec",
    "index_to_spec",
    "snapshot_of",
    "table_from_spec",
    "table_to_spec",
]
