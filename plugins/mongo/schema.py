"""Schema ops on MongoDB: collections, indexes and ``$jsonSchema`` validators.

A table is a collection whose validator is generated from the model (types, required fields,
enums, string lengths); column ops edit that validator with ``collMod`` and the documents with
``$set`` / ``$unset`` / ``$rename``. ``RawSQL`` carries a database command as JSON (a TTL index:
``op.sql('{"createIndexes": "sessions", "indexes": [...]}', dialects=["mongo"])``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mega.plugins.db import (
    MISSING,
    AddColumn,
    AddForeignKey,
    AlterColumn,
    ColumnInfo,
    CreateIndex,
    CreatePartition,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    IndexDef,
    IndexInfo,
    Op,
    RawSQL,
    RenameColumn,
    RenameTable,
    TableInfo,
    constraint_name,
    query_failed,
    unsupported,
)

from .database import COUNTERS

if TYPE_CHECKING:
    from .database import MongoDatabase

#: collections of mega's own (key counters, locks) that are no model's
INTERNAL = frozenset({COUNTERS, "mega_locks"})


def ttl_index(collection: str, field: str, *, seconds: int, name: str | None = None) -> RawSQL:
    """A migration op creating a TTL index: MongoDB deletes a document ``seconds`` after the
    datetime in ``field`` (``op.sql`` carrying the ``createIndexes`` command; other dialects
    skip it). Undo it with ``op.drop_index(collection, name)``."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError(f"ttl_index seconds={seconds!r}; expected an int >= 0")
    index = {
        "key": {field: 1},
        "name": name or constraint_name("ttl", collection, [field]),
        "expireAfterSeconds": seconds,
    }
    command = {"createIndexes": collection, "indexes": [index]}
    return RawSQL(json.dumps(command), dialects=("mongo",))


async def apply_op(db: MongoDatabase, op: Op) -> None:
    try:
        await _apply(db, op)
    except Exception as exc:
        raise db._fail(exc, type(op).__name__) from exc


async def _apply(db: MongoDatabase, op: Op) -> None:
    dialect = db.dialect
    database = db._database()
    options = db.options
    if isinstance(op, CreateTable):
        table = op.table
        if await database.list_collection_names(filter={"name": table.name}):
            raise query_failed(RuntimeError(f"collection {table.name!r} already exists"), "create")
        await database.create_collection(
            table.name,
            validator=dialect.json_schema(table),
            validationLevel=options.validation_level,
            validationAction=options.validation_action,
        )
        indexes = [
            IndexDef(constraint_name("uq", table.name, [c.name]), (c.name,), unique=True)
            for c in table.unique_columns()
        ]
        for index in [*indexes, *table.all_indexes()]:
            await _create_index(db, table.name, index)
    elif isinstance(op, DropTable):
        await database.drop_collection(op.name)
        await db.collection(COUNTERS).delete_one({"_id": op.name})
        db._ids.pop(op.name, None)
    elif isinstance(op, RenameTable):
        await _rename(db, op.old, op.new)
        schema = await _schema(db, op.new)
        if schema:
            schema["title"] = op.new
            await _set_schema(db, op.new, schema)
        counter = await db.collection(COUNTERS).find_one({"_id": op.old})
        if counter is not None:
            await db.collection(COUNTERS).insert_one({"_id": op.new, "next": counter["next"]})
            await db.collection(COUNTERS).delete_one({"_id": op.old})
        db._ids.pop(op.old, None)
        db._collections.pop(op.old, None)
    elif isinstance(op, AddColumn | AlterColumn):
        column = op.column
        schema = await _schema(db, op.table)
        schema.setdefault("properties", {})[column.name] = dialect.property_schema(column)
        _require(schema, column.name, not column.nullable)
        await _set_schema(db, op.table, schema)
        if (
            isinstance(op, AddColumn)
            and column.default is not MISSING
            and not callable(column.default)
        ):
            value = dialect.encode_default(column)
            await db.collection(op.table).update_many(
                {column.name: {"$exists": False}},
                {"$set": {column.name: value}},
                bypass_document_validation=True,
            )
    elif isinstance(op, DropColumn):
        await db.collection(op.table).update_many(
            {}, {"$unset": {op.column: ""}}, bypass_document_validation=True
        )
        schema = await _schema(db, op.table)
        schema.get("properties", {}).pop(op.column, None)
        _require(schema, op.column, False)
        await _set_schema(db, op.table, schema)
    elif isinstance(op, RenameColumn):
        await db.collection(op.table).update_many(
            {op.old: {"$exists": True}},
            {"$rename": {op.old: op.new}},
            bypass_document_validation=True,
        )
        schema = await _schema(db, op.table)
        properties = schema.get("properties", {})
        schema["properties"] = {(op.new if k == op.old else k): v for k, v in properties.items()}
        if op.old in schema.get("required", []):
            schema["required"] = [op.new if k == op.old else k for k in schema["required"]]
        await _set_schema(db, op.table, schema)
    elif isinstance(op, CreateIndex):
        await _create_index(db, op.table, op.index)
    elif isinstance(op, DropIndex):
        await db.collection(op.table).drop_index(op.name)
    elif isinstance(op, AddForeignKey | DropForeignKey | CreatePartition):
        # no foreign keys (references stay in the journal, unenforced) and no partitions (one
        # collection holds every range): docs/plugins/mongo.md
        return
    elif isinstance(op, RawSQL):
        if op.dialects is not None and "mongo" not in op.dialects:
            return
        try:
            command = json.loads(op.sql)
        except ValueError:
            raise unsupported(
                "mongo",
                f"the SQL step {op.sql[:60]!r}",
                'give it dialects=[...] without "mongo", or write a mongo step as a JSON '
                "database command",
            ) from None
        await database.command(command)
    else:
        raise TypeError(f"{op!r} is not a schema operation")


async def _rename(db: MongoDatabase, old: str, new: str) -> None:
    """``renameCollection`` (on admin, as MongoDB requires; mongoeco takes it on the database
    itself)."""
    try:
        await db.collection(old).rename(new)
    except db._pymongo.errors.OperationFailure as exc:
        if "current database" not in str(exc):
            raise
        name = db.database_name
        await db._database().command("renameCollection", f"{name}.{old}", to=f"{name}.{new}")
    db._collections.pop(old, None)


async def _create_index(db: MongoDatabase, table: str, index: IndexDef) -> None:
    keys, options = db.dialect.index_spec(_stored(index, await _pk_name(db, table)))
    await db.collection(table).create_index(keys, **options)


def _stored(index: IndexDef, pk: str | None) -> IndexDef:
    if pk is None or pk not in index.columns:
        return index
    columns = tuple("_id" if c == pk else c for c in index.columns)
    return IndexDef(index.name, columns, index.unique, index.where)


async def _pk_name(db: MongoDatabase, table: str) -> str | None:
    schema = await _schema(db, table)
    return (schema.get("properties", {}).get("_id") or {}).get("title")


def _require(schema: dict[str, Any], name: str, required: bool) -> None:
    names = [n for n in schema.get("required", []) if n != name]
    if required:
        names.append(name)
    if names:
        schema["required"] = names
    else:
        schema.pop("required", None)


async def _schema(db: MongoDatabase, table: str) -> dict[str, Any]:
    """The collection's ``$jsonSchema`` (``{}`` without one)."""
    async for info in await db._database().list_collections(filter={"name": table}):
        validator = (info.get("options") or {}).get("validator") or {}
        return dict(validator.get("$jsonSchema") or {})
    return {}


async def _set_schema(db: MongoDatabase, table: str, schema: dict[str, Any]) -> None:
    database = db._database()
    validation = {
        "validator": {"$jsonSchema": schema},
        "validationLevel": db.options.validation_level,
        "validationAction": db.options.validation_action,
    }
    try:
        await database.command("collMod", table, **validation)
    except db._pymongo.errors.OperationFailure as exc:
        if exc.code != 59 and "unsupported wire command" not in str(exc):
            raise
        await _rebuild(db, table, validation)


async def _rebuild(db: MongoDatabase, table: str, validation: dict[str, Any]) -> None:
    """A server without ``collMod`` (mongoeco): move the documents into a collection created
    with the new validator, and remake its indexes. Not atomic, like SQLite's rebuilds."""
    database = db._database()
    old = db.collection(table)
    indexes = [ix async for ix in await old.list_indexes() if ix["name"] != "_id_"]
    parked = f"{table}__mega_rebuild"
    await _rename(db, table, parked)
    db._collections.pop(table, None)
    await database.create_collection(table, **validation)
    new = db.collection(table)
    batch: list[Any] = []
    async for doc in database[parked].find({}):
        batch.append(doc)
        if len(batch) == 500:
            await new.insert_many(batch, bypass_document_validation=True)
            batch = []
    if batch:
        await new.insert_many(batch, bypass_document_validation=True)
    for index in indexes:
        options = {
            k: v
            for k, v in index.items()
            if k in ("unique", "partialFilterExpression", "expireAfterSeconds", "sparse")
        }
        await new.create_index(list(index["key"].items()), name=index["name"], **options)
    await database.drop_collection(parked)


async def introspect(db: MongoDatabase) -> dict[str, TableInfo]:
    """Every collection of the database (but mega's own) read back as a table: columns from
    its validator, indexes from ``listIndexes``."""
    database = db._database()
    out: dict[str, TableInfo] = {}
    try:
        async for info in await database.list_collections():
            name = info["name"]
            if name.startswith("system.") or name in INTERNAL or info.get("type") == "view":
                continue
            validator = (info.get("options") or {}).get("validator") or {}
            schema = validator.get("$jsonSchema") or {}
            required = set(schema.get("required", []))
            columns = []
            pk = None
            for key, spec in (schema.get("properties") or {}).items():
                types = spec.get("bsonType", "any")
                types = [types] if isinstance(types, str) else list(types)
                column = spec.get("title", key) if key == "_id" else key
                if key == "_id":
                    pk = column
                columns.append(
                    ColumnInfo(
                        name=column,
                        type="/".join(t for t in types if t != "null"),
                        nullable=key != "_id" and key not in required,
                        primary_key=key == "_id",
                    )
                )
            indexes = []
            async for index in await db.collection(name).list_indexes():
                if index["name"] == "_id_":
                    continue
                keys = tuple(pk if k == "_id" and pk else k for k in index["key"])
                indexes.append(IndexInfo(index["name"], keys, bool(index.get("unique"))))
            out[name] = TableInfo(name=name, columns=columns, indexes=indexes)
    except Exception as exc:
        raise db._fail(exc, "listCollections") from exc
    return out


async def validators(db: MongoDatabase) -> dict[str, dict[str, Any]]:
    """Each collection's ``$jsonSchema`` (for drift checks against the models)."""
    out = {}
    async for info in await db._database().list_collections():
        validator = (info.get("options") or {}).get("validator") or {}
        if "$jsonSchema" in validator:
            out[info["name"]] = validator["$jsonSchema"]
    return out
