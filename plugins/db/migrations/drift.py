"""``mega migrate check``: the live schema against the journal snapshot, without a shadow
database. Compares tables, columns, nullability, indexes and foreign keys by name; column types
are left to the dialect (their spelling differs per database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..schema import TableInfo, constraint_name
from .differ import normalize
from .journal import Journal
from .runner import TABLE


def drift(root: Path, alias: str, live: dict[str, TableInfo], dialect: Any) -> list[str]:
    """Each difference between the snapshot and ``live``, as a sentence."""
    expected = {name: normalize(t) for name, t in Journal(root, alias).tables().items()}
    partitions = {p for info in live.values() for p in info.partitions}
    problems = []
    type_of = getattr(dialect, "introspected_type", None)
    for name in sorted(set(expected) - set(live)):
        problems.append(f"table {name} is in the snapshot but not in the database")
    for name in sorted(set(live) - set(expected) - partitions - {TABLE}):
        problems.append(f"table {name} is in the database but in no migration")
    for name in sorted(set(expected) & set(live)):
        table, info = expected[name], live[name]
        columns = {c.name: c for c in table.columns}
        for missing in sorted(set(columns) - set(info.column_names)):
            problems.append(f"column {name}.{missing} is missing from the database")
        for extra in sorted(set(info.column_names) - set(columns)):
            problems.append(f"column {name}.{extra} is in the database but in no migration")
        for column_info in info.columns:
            column = columns.get(column_info.name)
            if (
                column is not None
                and not column.primary_key
                and (column.nullable != column_info.nullable)
            ):
                want = "nullable" if column.nullable else "NOT NULL"
                problems.append(f"column {name}.{column.name} should be {want}")
            # a dialect that reads types back in its own spelling may compare them (mongo: the
            # BSON types of the $jsonSchema validator)
            expected_type = type_of(column) if type_of is not None and column else None
            if expected_type is not None and expected_type != column_info.type:
                problems.append(
                    f"column {name}.{column_info.name} is {column_info.type} in the database, "
                    f"{expected_type} in the migrations"
                )
        wanted = {ix.name for ix in table.indexes} | {
            constraint_name("uq", name, [c.name]) for c in table.unique_columns()
        }
        present = {ix.name for ix in info.indexes}
        for index in sorted(wanted - present):
            problems.append(f"index {index} on {name} is missing from the database")
        keys_wanted = {fk.name for fk in table.foreign_keys()}
        keys_present = {fk.name for fk in info.foreign_keys if fk.name}
        enforced = dialect.capabilities.foreign_keys
        if enforced and (keys_present or not dialect.capabilities.rebuilds_tables):
            for key in sorted(keys_wanted - keys_present):
                problems.append(f"foreign key {key} on {name} is missing from the database")
    return problems
