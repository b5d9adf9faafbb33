"""The mongo driver over the wire: config and connection errors, ``_id`` mapping, transactions
per server, and user input that never becomes a query operator."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mega.errors import MegaConfigError
from mega.plugins.db import (
    BigInt,
    DbError,
    Int,
    IntegrityViolation,
    InvalidQuery,
    Json,
    Model,
    String,
)
from mega.plugins.mongo import MongoDatabase, MongoOptions, like_regex
from mega.testing import boot_app
from mega.testing.services import free_port

from .conftest import MongoServer, start_mongoeco, stop


class Note(Model):
    __table__ = "notes"
    __timestamps__ = True

    title = String(80)
    tags = Json(default=list)
    meta = Json(nullable=True)


async def _notes(db: MongoDatabase) -> list[Any]:
    from mega.plugins.db import CreateTable

    await db.apply([CreateTable(Note.table_def())])
    return await db.insert_many(
        Note,
        [
            {"title": "alpha", "tags": ["a", "b"], "meta": {"by": {"name": "ada"}}},
            {"title": "beta.*", "tags": [], "meta": None},
            {"title": "(gamma)", "tags": ["c"]},
        ],
    )


# -- configuration and connection ----------------------------------------------------------------


async def test_the_plugin_is_found_through_its_entry_point_and_serves_ctx_db(
    mongo_options: MongoOptions,
) -> None:
    config = {
        "app": {"plugins": ["db", "mongo"]},
        "adapters": {"db": {"default": {"driver": "mongo", **mongo_options.model_dump()}}},
    }
    async with boot_app(config) as app:
        db = app.ctx().db()
        assert isinstance(db, MongoDatabase) and db.dialect.name == "mongo"
        await db.health()
        keys = await _notes(db)
        assert (await db.get(Note, keys[0]) or {})["tags"] == ["a", "b"]


async def test_a_bad_url_is_a_config_error_with_the_password_masked() -> None:
    db = MongoDatabase(alias="x", options=MongoOptions(url="mongodb://u:hunter2@/nohost::"))
    with pytest.raises(MegaConfigError) as err:
        await db.connect()
    assert err.value.code == "mongo.invalid_url"
    assert "hunter2" not in err.value.message and "***" in err.value.message
    other = MongoDatabase(alias="x", options=MongoOptions(url="postgresql://127.0.0.1/shop"))
    with pytest.raises(MegaConfigError) as err:
        await other.connect()
    assert err.value.code == "mongo.invalid_url" and "mongodb://" in err.value.message


def test_the_database_comes_from_the_option_or_the_urls_path() -> None:
    def name(**options: Any) -> str:
        return MongoDatabase(alias="x", options=MongoOptions(**options)).database_name

    assert name(url="mongodb://h/shop?authSource=admin", database="other") == "other"
    assert name(url="mongodb://h/shop?authSource=admin") == "shop"
    assert name() == "mega"


async def test_an_unreachable_server_fails_within_the_selection_timeout() -> None:
    port = free_port()
    options = MongoOptions(url=f"mongodb://127.0.0.1:{port}", server_selection_timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(DbError) as err:
        await MongoDatabase(alias="x", options=options).connect()
    assert err.value.code == "mongo.unreachable"
    assert time.monotonic() - started < 5  # bounded: not PyMongo's 30 s default
    assert f"127.0.0.1:{port}" in err.value.message and "server_selection_timeout_ms" in (
        err.value.message
    )


async def test_missing_or_wrong_credentials_are_an_auth_error(mongo_server: MongoServer) -> None:
    if not mongo_server.own:
        pytest.skip("needs the fixture's own mongoeco (it starts one that requires a user)")
    proc, port = start_mongoeco("app:s3cret")
    try:
        for url in (
            f"mongodb://127.0.0.1:{port}/?directConnection=true",
            f"mongodb://app:wrong@127.0.0.1:{port}/?directConnection=true",
        ):
            options = MongoOptions(url=url, database="mega_auth", server_selection_timeout_ms=2_000)
            with pytest.raises(MegaConfigError) as err:
                await MongoDatabase(alias="secure", options=options).connect()
            assert err.value.code == "mongo.auth_failed"
            assert "wrong" not in err.value.message
    finally:
        stop(proc)


def test_options_bound_the_timeouts_and_check_the_database_name() -> None:
    assert MongoOptions().server_selection_timeout_ms == 5_000
    with pytest.raises(ValueError):
        MongoOptions(server_selection_timeout_ms=600_000)
    with pytest.raises(ValueError):
        MongoOptions(database="bad/name")


# -- documents -----------------------------------------------------------------------------------


async def test_the_primary_key_is_the_documents_id(mongo_db: MongoDatabase) -> None:
    keys = await _notes(mongo_db)
    raw = await mongo_db.collection(Note).find_one({"_id": keys[0]})
    assert raw is not None and "id" not in raw and raw["_id"] == keys[0]
    assert raw["meta"] == {"by": {"name": "ada"}}  # an embedded document, not JSON text
    assert keys == sorted(keys) and len(set(keys)) == 3
    # a document written by another program, with an ObjectId, reads through the model
    from bson import ObjectId

    other = ObjectId()
    await mongo_db.collection(Note).insert_one(
        {"_id": other, "title": "raw", "tags": []}, bypass_document_validation=True
    )
    row = await mongo_db.get(Note, other)
    assert row is not None and row["id"] == other and row["created_at"] is None


async def test_transactions_follow_the_server(mongo_server: MongoServer, mongo_options) -> None:
    # a standalone mongod refuses transactions: "auto" asks the server, "off" says no outright
    refused = MongoDatabase(
        alias="t", options=mongo_options.model_copy(update={"transactions": "off"})
    )
    await refused.connect()
    try:
        assert not refused.dialect.capabilities.transactions
        with pytest.raises(DbError) as err:
            async with refused.transaction():
                pass
        assert err.value.code == "db.unsupported" and "replica set" in err.value.message
        # insert_many stays all or nothing without one
        await _notes(refused)
        with pytest.raises(IntegrityViolation):
            await refused.insert_many(Note, [{"title": "ok"}, {"title": "x", "id": 1}])
        assert await refused.count(Note) == 3
    finally:
        await refused.close()
    auto = MongoDatabase(
        alias="t", options=mongo_options.model_copy(update={"transactions": "auto"})
    )
    await auto.connect()
    try:
        # a replica set (or mongos) says so in hello; mongoeco and a standalone mongod do not
        hello = await auto.command("hello")
        replicated = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        assert auto.dialect.capabilities.transactions is replicated
    finally:
        await auto.close()


# -- user input never becomes an operator -------------------------------------------------------


async def test_operator_documents_in_values_are_compared_not_run(mongo_db: MongoDatabase) -> None:
    await _notes(mongo_db)
    where_js = {"$where": "sleep(5000) || true"}
    started = time.monotonic()
    assert await mongo_db.find(Note, where={"title": where_js}) == []
    assert await mongo_db.find(Note, Note.title == {"$ne": None}) == []
    assert await mongo_db.count(Note, Note.title.in_([{"$gt": ""}])) == 0
    assert await mongo_db.find(Note, Note.meta == {"$exists": True}) == []
    assert time.monotonic() - started < 2
    with pytest.raises(InvalidQuery):
        await mongo_db.find(Note, where={"$where": "true"})
    with pytest.raises(InvalidQuery):
        await mongo_db.find(Note, where={"title.$ne": 1})
    with pytest.raises(InvalidQuery):
        await mongo_db.update(Note, {"$set": {"title": "x"}}, all_rows=True)
    # an operator document as a string field's value is a value: the validator refuses its type
    with pytest.raises(IntegrityViolation):
        await mongo_db.update(Note, {"title": {"$where": "1"}}, Note.title == "alpha")
    assert await mongo_db.count(Note, Note.title == "alpha") == 1


async def test_like_patterns_are_anchored_and_escaped(mongo_db: MongoDatabase) -> None:
    await _notes(mongo_db)

    async def titles(condition: Any) -> list[str]:
        return [r["title"] for r in await mongo_db.find(Note, condition, order_by="id")]

    assert await titles(Note.title.contains(".*")) == ["beta.*"]
    assert await titles(Note.title.startswith("(")) == ["(gamma)"]
    assert await titles(Note.title.like("lph%")) == []  # anchored at the start
    assert await titles(Note.title.like("alph")) == []  # and at the end
    assert await titles(Note.title.ilike("ALPHA")) == ["alpha"]
    assert await titles(Note.title.not_like("%a%")) == []
    assert like_regex("a.b%") == r"^a\.b.*(?!.)"
    assert like_regex(r"100\%_") == r"^100%.(?!.)"


async def test_raw_sql_is_refused_with_the_way_out(mongo_db: MongoDatabase) -> None:
    with pytest.raises(DbError) as err:
        await mongo_db.execute("DELETE FROM notes")
    assert err.value.code == "db.unsupported" and "db.collection" in err.value.message
    await _notes(mongo_db)
    stats = await mongo_db.command({"count": "notes"})
    assert stats["n"] == 3


class Gauge(Model):
    __table__ = "gauges"
    id = Int(primary_key=True)
    small = Int(nullable=True)
    big = BigInt(nullable=True)


async def test_a_value_its_field_cannot_hold_is_invalid_input(mongo_db: MongoDatabase) -> None:
    from mega.plugins.db import CreateTable, InvalidValue

    await mongo_db.apply([CreateTable(Gauge.table_def())])
    await mongo_db.insert(Gauge, {"id": 1, "small": 2**31 - 1, "big": 2**63 - 1})
    for values in ({"id": 2, "small": 2**31}, {"id": 3, "big": 2**63}, {"id": 2**40}):
        with pytest.raises(InvalidValue) as err:
            await mongo_db.insert(Gauge, values)
        assert err.value.code == "db.invalid_value" and err.value.http_status == 422
    with pytest.raises(InvalidValue):
        await mongo_db.update(Gauge, {"small": -(2**31) - 1}, Gauge.id == 1)
    assert await mongo_db.get(Gauge, 2**70) is None  # a key no document can have
    assert await mongo_db.count(Gauge) == 1


async def test_the_servers_validator_refusals_name_the_field(mongo_db: MongoDatabase) -> None:
    """What mega's own checks let through (a wrong type) or never see (a raw insert) the
    collection's $jsonSchema refuses, mapped to the same codes."""
    keys = await _notes(mongo_db)
    with pytest.raises(IntegrityViolation) as err:
        await mongo_db.update(Note, {"title": 42}, Note.id == keys[0])  # type: ignore[dict-item]
    assert err.value.code == "db.check_violation" and err.value.details["column"] == "title"
    error = mongo_db.map_error(await _refusal(mongo_db, {"_id": 9, "tags": []}))
    assert error is not None and error.code == "db.not_null_violation"
    assert error.details["column"] == "title"


async def _refusal(db: MongoDatabase, doc: dict[str, Any]) -> BaseException:
    try:
        await db.collection(Note).insert_one(doc)
    except Exception as exc:
        return exc
    raise AssertionError("the validator let it in")
