"""The ``mongo`` plugin: MongoDB as a ``db`` adapter, on PyMongo's asyncio API.

Registers the ``mongo`` db driver and dialect. The same ``Model`` classes and CRUD calls work
on collections; schema ops become collections, indexes and ``$jsonSchema`` validators. See
docs/plugins/mongo.md.
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .database import MongoDatabase, MongoOptions
from .dialect import MongoDialect, like_regex
from .schema import ttl_index

plugin = PluginSpec(
    name="mongo",
    description="MongoDB: db adapter and dialect (PyMongo async API), $jsonSchema migrations",
    provides=("db",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "db",
        "mongo",
        MongoDatabase,
        options=MongoOptions,
        description="MongoDB through PyMongo's AsyncMongoClient; collections, $jsonSchema",
    )
    registry.dialect("mongo", MongoDialect)


__all__ = ["MongoDatabase", "MongoDialect", "MongoOptions", "like_regex", "plugin", "ttl_index"]
