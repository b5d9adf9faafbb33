"""``MongoDialect``: how models map onto documents. Pure functions of models, no I/O.

A model is a collection; its primary key is ``_id`` and every other field keeps its name.
Conditions render to query documents in which a value is always the operand of an operator
(``{"name": {"$eq": value}}``), so a value — even a dict like ``{"$where": ...}`` — is only ever
compared, never run. ``like`` patterns become anchored, escaped regular expressions. SQL's
three-valued logic is kept: ``!=``, ``not_in`` and a negated ``like`` never match a null.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from mega.plugins.db import (
    MISSING,
    AddColumn,
    AlterColumn,
    And,
    Capabilities,
    Compare,
    Condition,
    Converter,
    CreateIndex,
    CreateTable,
    Dialect,
    DropColumn,
    DropIndex,
    DropTable,
    Field,
    IndexDef,
    InList,
    IsNull,
    Like,
    Not,
    Or,
    Order,
    RawSQL,
    RenameColumn,
    RenameTable,
    Table,
    constraint_name,
    enum_value,
    integrity,
    invalid,
    invalid_value,
    model_of,
    to_utc,
)

if TYPE_CHECKING:
    from mega.plugins.db import Model

OPERATORS = {"eq": "$eq", "ne": "$ne", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
#: the comparison that holds exactly when ``op`` does not (for rows with a value)
INVERSE = {"eq": "ne", "ne": "eq", "lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}
#: BSON types a field kind is stored as (the ``$jsonSchema`` validators check them)
BSON_TYPES: dict[str, list[str]] = {
    "int": ["int"],
    "bigint": ["int", "long"],
    "string": ["string"],
    "text": ["string"],
    "enum": ["string"],
    "bool": ["bool"],
    "date": ["string"],
    "datetime": ["date"],
    "decimal": ["decimal"],
    "float": ["double"],
    "uuid": ["binData"],
    "bytes": ["binData"],
}


def _decimal128(value: Any) -> Any:
    from bson.decimal128 import Decimal128

    if isinstance(value, Decimal128):
        return value
    if not isinstance(value, decimal.Decimal):
        value = decimal.Decimal(str(value))
    return Decimal128(value)


def _from_decimal128(value: Any) -> Any:
    return value.to_decimal() if hasattr(value, "to_decimal") else decimal.Decimal(str(value))


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise invalid("invalid_value", f"expected a date, got {type(value).__name__} {value!r}")
    return value.isoformat()


def _float(value: Any) -> float:
    return float(value)


def like_regex(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``, ``\\`` escapes) as an anchored regular expression in
    which every other character is literal. ``(?!.)`` ends it: with the ``s`` option it means
    the very end of the text in PCRE and Python alike (``$`` also matches before a last
    newline)."""
    out = ["^"]
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    out.append("(?!.)")
    return "".join(out)


class Documents:
    """Everything about one model the mongo driver computes once: stored names, value
    converters and the document -> row function."""

    __slots__ = (
        "autoincrement",
        "checks",
        "collection",
        "encode_key",
        "model",
        "pk",
        "row",
        "stored",
        "to_db",
    )

    def __init__(self, dialect: MongoDialect, model: type[Model]) -> None:
        plan = dialect.plan(model)
        self.model = model
        self.collection = model.__table__
        self.pk = plan.pk
        self.autoincrement = plan.autoincrement
        self.stored = {name: ("_id" if name == self.pk else name) for name in plan.columns}
        self.to_db = plan.to_db
        key_convert = plan.to_db.get(self.pk)
        self.encode_key: Callable[[Any], Any] = key_convert or (lambda value: value)
        #: (name, field) of every field a write must give a value (not null) or check (enum)
        self.checks = tuple(
            (name, field)
            for name, field in model.__fields__.items()
            if field.kind in ("int", "bigint")
            or (name != self.pk and (not field.nullable or field.kind == "enum"))
        )
        decoders = {}
        for name, field in model.__fields__.items():
            _, from_db = dialect.converters(field)
            if from_db is not None:
                decoders[name] = from_db
        self.row = _row_builder(self.stored, decoders)

    def check(self, values: dict[str, Any], *, partial: bool) -> None:
        """Refuse what a SQL schema would: a missing or null required field, a value outside
        an enum (the ``$jsonSchema`` validator holds the same rules on the server)."""
        table = self.collection
        for name, field in self.checks:
            if name not in values:
                if partial or field.nullable:
                    continue
                value = None
            else:
                value = values[name]
            if value is None:
                if field.nullable or field.primary_key:  # a key left out is generated
                    continue
                raise integrity(
                    "not_null",
                    constraint=None,
                    table=table,
                    column=name,
                    message=f"{self.model.__name__}.{name} needs a value",
                )
            if field.kind in ("int", "bigint"):
                low, high = field.bounds  # type: ignore[attr-defined]
                if isinstance(value, int) and not low <= value <= high:
                    raise invalid_value(
                        f"{value} is outside {field.kind}'s range {low}..{high}", column=name
                    )
                continue
            if field.kind == "enum" and enum_value(value) not in field.values:  # type: ignore[attr-defined]
                raise integrity(
                    "check",
                    constraint=f"ck_{table}_{name}",
                    table=table,
                    column=name,
                    message=f"{value!r} is not one of {', '.join(field.values)}",  # type: ignore[attr-defined]
                )

    def document(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row's values as a document (stored names, driver values)."""
        to_db, stored = self.to_db, self.stored
        doc: dict[str, Any] = {}
        for name, value in row.items():
            convert = to_db.get(name)
            doc[stored[name]] = value if convert is None or value is None else convert(value)
        return doc


def _row_builder(
    stored: dict[str, str], decoders: dict[str, Converter]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function compiled for one model turning a document into a row dict (every field,
    None where the document has none). Only generated names appear in the code; field names
    enter as string constants through ``repr``."""
    items = []
    scope: dict[str, Any] = {}
    for i, (name, key) in enumerate(stored.items()):
        if name in decoders:
            scope[f"f{i}"] = decoders[name]
            items.append(f"{name!r}: None if (v{i} := g({key!r})) is None else f{i}(v{i})")
        else:
            items.append(f"{name!r}: g({key!r})")
    source = "def row(doc):\n    g = doc.get\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<mega document builder {tuple(stored)!r}>", "exec"), scope)
    return scope["row"]  # type: ignore[no-any-return]


class MongoDialect(Dialect):
    """Models on MongoDB collections; SQL statements are not spoken (``raw_sql=False``)."""

    name = "mongo"
    capabilities = Capabilities(
        transactional_ddl=False,
        returning=True,
        partitioning=False,
        native_json=True,
        native_uuid=True,
        savepoints=False,
        partial_indexes=True,
        alter_column=True,
        alter_foreign_keys=False,
        foreign_key_actions=False,
        raw_sql=False,
        foreign_keys=False,
        transactions=True,
        datetime_resolution_us=1000,
        reasons={
            "transactional_ddl": "collection and index commands are not transactional",
            "partitioning": "MongoDB has no range partitions; a partitioned model is one "
            "collection (shard it instead)",
            "savepoints": "MongoDB transactions do not nest",
            "alter_foreign_keys": "MongoDB has no foreign keys",
            "foreign_key_actions": "MongoDB has no foreign keys (references are not enforced)",
            "raw_sql": "MongoDB speaks commands, not SQL: use db.collection() / db.command()",
            "foreign_keys": "MongoDB has no foreign keys (references are not enforced)",
            "transactions": "multi-document transactions need a replica set or mongos",
            "datetime_resolution_us": "BSON dates hold milliseconds",
        },
    )

    def __init__(self, *, transactions: bool = True) -> None:
        super().__init__()
        self._documents: dict[type[Model], Documents] = {}
        if not transactions:
            # this server (a standalone mongod) refuses transactions: say so to the kit
            from dataclasses import replace

            self.capabilities = replace(type(self).capabilities, transactions=False)  # type: ignore[misc]

    def converters(self, field: Field) -> tuple[Converter | None, Converter | None]:
        kind = field.kind
        if kind == "datetime":
            # the client is tz_aware: UTC datetimes with bson's utc tzinfo. Swapping in
            # datetime.UTC costs 2 us a value here, PyMongo's tzinfo= option 3 us (measured)
            return to_utc, None
        if kind == "enum":
            return enum_value, None
        if kind == "decimal":
            return _decimal128, _from_decimal128
        if kind == "date":
            return _date, dt.date.fromisoformat
        if kind == "float":
            return _float, None
        return None, None  # ints, text, bool, json (embedded), uuid (standard), bytes

    def documents(self, model: type[Model]) -> Documents:
        found = self._documents.get(model)
        if found is None:
            found = self._documents[model] = Documents(self, model)
        return found

    # -- queries ----------------------------------------------------------------------------

    def filter(self, model: type[Model], cond: Condition | None) -> dict[str, Any]:
        """The query document of ``cond`` (``{}``: every document)."""
        if cond is None:
            return {}
        return self._render(model, cond, False)

    def _render(self, model: type[Model], cond: Condition, negate: bool) -> dict[str, Any]:
        if isinstance(cond, Compare):
            field = self._own_field(model, cond.field)
            key = "_id" if field.primary_key else field.name
            value = self.encode(field, cond.value)
            op = INVERSE[cond.op] if negate else cond.op
            if op == "ne":  # SQL: NULL is neither equal nor unequal to a value
                return {key: {"$nin": [value, None]}}
            if op != "eq" and field.nullable:
                # a null is never in a range (MongoDB agrees; some wire servers need telling)
                return {key: {OPERATORS[op]: value, "$ne": None}}
            return {key: {OPERATORS[op]: value}}
        if isinstance(cond, IsNull):
            field = self._own_field(model, cond.field)
            key = "_id" if field.primary_key else field.name
            return {key: {"$ne": None}} if cond.negate is not negate else {key: {"$eq": None}}
        if isinstance(cond, InList):
            field = self._own_field(model, cond.field)
            key = "_id" if field.primary_key else field.name
            values = [self.encode(field, v) for v in cond.values]
            if cond.negate is negate:
                return {key: {"$in": values}}
            return {key: {"$nin": [*values, None]}} if values else {}
        if isinstance(cond, Like):
            field = self._own_field(model, cond.field)
            key = "_id" if field.primary_key else field.name
            if not isinstance(cond.pattern, str):
                raise invalid("invalid_value", f"like pattern {cond.pattern!r} is not a string")
            regex = {
                "$regex": like_regex(cond.pattern),
                "$options": "si" if cond.case_insensitive else "s",
            }
            if cond.negate is negate:
                return {key: regex}
            return {key: {"$not": regex, "$ne": None}}
        if isinstance(cond, And | Or):
            conjunction = isinstance(cond, And) is not negate  # De Morgan under a negation
            items = [self._render(model, c, negate) for c in cond.items]
            if not conjunction:
                return {"$or": items}
            merged: dict[str, Any] = {}
            for item in items:  # {a: …, b: …} rather than $and: simpler for the planner
                if not merged.keys().isdisjoint(item):
                    return {"$and": items}
                merged.update(item)
            return merged
        if isinstance(cond, Not):
            return self._render(model, cond.item, not negate)
        raise invalid(
            "invalid_condition",
            f"{cond!r} is not a query condition; build conditions from model fields "
            "(User.age >= 18, User.name.like('a%'))",
            condition=repr(cond),
        )

    def encode(self, field: Field, value: Any) -> Any:
        convert = self.documents(field.model).to_db.get(field.name)
        return value if convert is None or value is None else convert(value)

    def encode_default(self, field: Field) -> Any:
        """A field's literal default as stored (to backfill documents when a column is added)."""
        value = field.default
        to_db, _ = self.converters(field)
        return value if to_db is None or value is None else to_db(value)

    def sort(self, model: type[Model], keys: Sequence[Order]) -> list[tuple[str, int]]:
        out = []
        for key in keys:
            field = self._own_field(model, key.field)
            out.append(("_id" if field.primary_key else field.name, -1 if key.descending else 1))
        return out

    # -- schema -----------------------------------------------------------------------------

    def property_schema(self, field: Field) -> dict[str, Any]:
        """The ``$jsonSchema`` of one field's stored value."""
        spec: dict[str, Any] = {}
        if field.primary_key:
            spec["title"] = field.name  # _id: introspection reads the field's name back
        types = BSON_TYPES.get(field.kind)
        if types is not None:
            spec["bsonType"] = [*types, "null"] if field.nullable else list(types)
        if field.kind == "enum":
            values: list[Any] = list(field.values)  # type: ignore[attr-defined]
            spec["enum"] = [*values, None] if field.nullable else values
        if field.kind == "string":
            spec["maxLength"] = field.length  # type: ignore[attr-defined]
        return spec

    def introspected_type(self, field: Field) -> str:
        """The type ``introspect`` reads back for ``field`` (``mega migrate check`` compares
        them): its BSON types, ``any`` for JSON."""
        return "/".join(BSON_TYPES.get(field.kind, ["any"]))

    def json_schema(self, table: Table) -> dict[str, Any]:
        """The ``$jsonSchema`` validator of a table definition: types, required fields,
        enums and lengths (documents may carry more fields)."""
        properties: dict[str, Any] = {}
        required = []
        for column in table.columns:
            key = "_id" if column.primary_key else column.name
            properties[key] = self.property_schema(column)
            if not column.nullable and not column.primary_key:
                required.append(key)
        schema: dict[str, Any] = {"bsonType": "object", "title": table.name}
        if required:
            schema["required"] = required
        schema["properties"] = properties
        return {"$jsonSchema": schema}

    def index_spec(self, index: IndexDef) -> tuple[list[tuple[str, int]], dict[str, Any]]:
        """``(keys, options)`` for ``create_index``; a partial index's condition becomes its
        ``partialFilterExpression``."""
        keys = [(column, 1) for column in index.columns]
        options: dict[str, Any] = {"name": index.name}
        if index.unique:
            options["unique"] = True
        if index.where is not None:
            options["partialFilterExpression"] = self.filter(model_of(index.where), index.where)
        return keys, options

    # -- dry run (``mega migrate sql``) --------------------------------------------------------

    def ddl(self, op: Any) -> list[str]:
        """The database commands ``op`` runs, as JSON (what ``mega migrate sql`` prints; the
        driver applies ops itself, ``MongoDatabase.apply``). Validator edits are shown as the
        rule merged into the collection's current ``$jsonSchema``."""
        return [json.dumps(c, default=str, ensure_ascii=False) for c in self.commands(op)]

    def commands(self, op: Any) -> list[dict[str, Any]]:
        def index(table: str, ix: IndexDef) -> dict[str, Any]:
            keys, options = self.index_spec(ix)
            return {"createIndexes": table, "indexes": [{"key": dict(keys), **options}]}

        def update(table: str, change: dict[str, Any], query: Any = None) -> dict[str, Any]:
            return {
                "update": table,
                "updates": [{"q": query or {}, "u": change, "multi": True}],
                "bypassDocumentValidation": True,
            }

        if isinstance(op, CreateTable):
            table = op.table
            unique = [
                IndexDef(constraint_name("uq", table.name, [c.name]), (c.name,), unique=True)
                for c in table.unique_columns()
            ]
            return [
                {"create": table.name, "validator": self.json_schema(table)},
                *(index(table.name, ix) for ix in [*unique, *table.all_indexes()]),
            ]
        if isinstance(op, DropTable):
            return [{"drop": op.name}]
        if isinstance(op, RenameTable):
            return [{"renameCollection": op.old, "to": op.new}]
        if isinstance(op, AddColumn | AlterColumn):
            rule = {op.column.name: self.property_schema(op.column)}
            out: list[dict[str, Any]] = [
                {"collMod": op.table, "validator": {"$jsonSchema": {"properties": rule}}}
            ]
            default = op.column.default
            if isinstance(op, AddColumn) and default is not MISSING and not callable(default):
                value = {"$set": {op.column.name: self.encode_default(op.column)}}
                out.append(update(op.table, value, {op.column.name: {"$exists": False}}))
            return out
        if isinstance(op, DropColumn):
            return [update(op.table, {"$unset": {op.column: ""}})]
        if isinstance(op, RenameColumn):
            return [update(op.table, {"$rename": {op.old: op.new}}, {op.old: {"$exists": True}})]
        if isinstance(op, CreateIndex):
            return [index(op.table, op.index)]
        if isinstance(op, DropIndex):
            return [{"dropIndexes": op.table, "index": op.name}]
        if isinstance(op, RawSQL):
            if op.dialects is not None and self.name not in op.dialects:
                return []
            try:
                return [json.loads(op.sql)]
            except ValueError:
                from mega.plugins.db import unsupported

                raise unsupported(
                    self.name, f"the SQL step {op.sql[:60]!r}", "write it as a JSON command"
                ) from None
        return []  # foreign keys and partitions: nothing on MongoDB

    TYPES: ClassVar[dict[str, str]] = {kind: "/".join(t) for kind, t in BSON_TYPES.items()}
