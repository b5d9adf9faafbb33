"""The ``db`` plugin and the public database API: models, the dialect contract, CRUD.

Dialect plugins (``sqlite``, ``postgres``, ``maria``, or a third party's) register a ``db``
adapter driver — a ``Database`` subclass implementing ``DatabaseDriver`` — and its ``Dialect``.
This plugin adds what works on any of them: the ``mega g model`` generator. See docs/db.md
(models and CRUD) and docs/dialects.md (writing a dialect: this module's exports are all a
dialect needs; ``mega.plugins.sqlite`` is the reference dialect, and
``mega.plugins.db.dialect_suite`` the conformance kit).
"""

from __future__ import annotations

from mega import App, PluginRegistry, PluginSpec, hookimpl, nest

from . import hooks
from .database import (
    Database,
    OrderSpec,
    Page,
    Transaction,
    check_columns,
    check_filtered,
    check_window,
    field_name,
)
from .dialect import (
    Capabilities,
    Converter,
    Dialect,
    ModelPlan,
    Unsupported,
    enum_value,
    json_dumps,
    model_of,
    to_utc,
    unsupported,
)
from .driver import Batch, DatabaseDriver, Row
from .errors import (
    ConnectionLost,
    DbError,
    IntegrityViolation,
    InvalidQuery,
    InvalidValue,
    QueryError,
    RetryableDbError,
    connection_lost,
    integrity,
    invalid,
    invalid_value,
    lock_timeout,
    query_failed,
    retryable,
)
from .expressions import And, Compare, Condition, InList, IsNull, Like, Not, Or, Order
from .fields import (
    MISSING,
    BigInt,
    Bool,
    Bytes,
    Date,
    DateTime,
    Decimal,
    Enum,
    Field,
    Float,
    Int,
    Json,
    String,
    Text,
    Uuid,
)
from .model import Model
from .partitions import ensure_partitions, partition_name
from .pool import ConnectionPool, close_connection
from .schema import (
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
    ForeignKeyDef,
    ForeignKeyInfo,
    Index,
    IndexDef,
    IndexInfo,
    Op,
    PartitionBy,
    RawSQL,
    RenameColumn,
    RenameTable,
    Table,
    TableInfo,
    constraint_name,
)

plugin = PluginSpec(
    name="db",
    description="Models and CRUD on any db adapter; migrations; `mega g model` / `migration`",
    hooks=hooks,
)


@hookimpl
def mega_after_boot(app: App) -> None:
    # every plugin's mega_before_boot has run: their query wrappers can use what they prepared
    wrap = nest(app.hooks.collect("mega_db_wrap_query", app=app))
    if wrap is not None:
        for (kind, _alias), adapter in app.adapters.items():
            if kind == "db" and isinstance(adapter, Database):
                adapter._wrap_queries(wrap)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from mega import scaffolds_dir

    registry.generator(
        "model",
        dir=scaffolds_dir() / "db",
        description="A model in apps/<app>/models/, with a CRUD test on the embedded sqlite "
        "(on MongoDB when the project's default db is mongo)",
        extra_tokens=_default_driver,
        files=[
            {"path": "apps/{{ app }}/models/{{ snake }}.py", "template": "model.py.tpl"},
            {"path": "tests/{{ app }}/test_{{ snake }}_model.py", "template": "test_model.py.tpl"},
        ],
    )
    registry.generator(
        "migration",
        dir=scaffolds_dir() / "db",
        description="An empty hand-written migration (data steps, raw SQL) in apps/<app>/",
        extra_tokens=_timestamp,
        files=[
            {
                "path": "apps/{{ app }}/migrations/{{ timestamp }}-{{ snake }}.py",
                "template": "migration.py.tpl",
            }
        ],
    )
    from .migrations.cli import migrate_cli

    registry.command("migrate", migrate_cli, help="Schema migrations: make, up, down, status.")


def _default_driver(root: object, tokens: dict[str, str]) -> dict[str, str]:
    """``driver``: the project's ``[adapters.db.default] driver`` (the model templates have a
    MongoDB variant, as the seed had)."""
    import tomllib
    from pathlib import Path

    driver = "sqlite"
    for folder in (Path(str(root)), *Path(str(root)).parents):
        config = folder / "mega.toml"
        if config.is_file():
            try:
                tables = tomllib.loads(config.read_text())
            except tomllib.TOMLDecodeError:
                break
            found = tables.get("adapters", {}).get("db", {}).get("default", {}).get("driver")
            driver = found if isinstance(found, str) else driver
            break
    return {"driver": driver}


def _timestamp(root: object, tokens: dict[str, str]) -> dict[str, str]:
    import datetime as dt

    return {"timestamp": f"{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"}


__all__ = [
    "MISSING",
    "AddColumn",
    "AddForeignKey",
    "AlterColumn",
    "And",
    "Batch",
    "BigInt",
    "Bool",
    "Bytes",
    "Capabilities",
    "ColumnInfo",
    "Compare",
    "Condition",
    "ConnectionLost",
    "ConnectionPool",
    "Converter",
    "CreateIndex",
    "CreatePartition",
    "CreateTable",
    "Database",
    "DatabaseDriver",
    "Date",
    "DateTime",
    "DbError",
    "Decimal",
    "Dialect",
    "DropColumn",
    "DropForeignKey",
    "DropIndex",
    "DropTable",
    "Enum",
    "Field",
    "Float",
    "ForeignKeyDef",
    "ForeignKeyInfo",
    "InList",
    "Index",
    "IndexDef",
    "IndexInfo",
    "Int",
    "IntegrityViolation",
    "InvalidQuery",
    "InvalidValue",
    "IsNull",
    "Json",
    "Like",
    "Model",
    "ModelPlan",
    "Not",
    "Op",
    "Or",
    "Order",
    "OrderSpec",
    "Page",
    "PartitionBy",
    "QueryError",
    "RawSQL",
    "RenameColumn",
    "RenameTable",
    "RetryableDbError",
    "Row",
    "String",
    "Table",
    "TableInfo",
    "Text",
    "Transaction",
    "Unsupported",
    "Uuid",
    "check_columns",
    "check_filtered",
    "check_window",
    "close_connection",
    "connection_lost",
    "constraint_name",
    "ensure_partitions",
    "enum_value",
    "field_name",
    "integrity",
    "invalid",
    "invalid_value",
    "json_dumps",
    "lock_timeout",
    "model_of",
    "partition_name",
    "plugin",
    "query_failed",
    "retryable",
    "to_utc",
    "unsupported",
]
