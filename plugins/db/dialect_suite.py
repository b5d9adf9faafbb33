"""The dialect conformance kit: every ``db`` adapter driver, first-party or not, must pass it.

A driver's test module imports the kit's cases and fixtures and provides one fixture,
``db_factory``: an async callable returning a new, connected ``Database`` on one *empty*
database (or schema) that the fixture made for the test; call it twice for two independent
clients, as two processes would be. ``connected_databases`` builds them and closes each one::

    from mega.plugins.db.dialect_suite import *  # noqa: F403
    from mega.plugins.db.testing import connected_databases

    @pytest.fixture
    async def db_factory(tmp_path):
        options = MyOptions(path=str(tmp_path / "kit.db"))
        async with connected_databases(lambda: MyDatabase(alias="kit", options=options)) as make:
            yield make
        # drop the database or schema the test used here

(``mega.testing.dialect_suite`` is this module under its older name.)

Cases read the dialect's capability flags: where one is off, a case checks for a clear
``db.unsupported`` error (or the documented fallback) instead, or skips with the reason the
dialect gives (``Capabilities.reasons``); docs/dialects.md lists what each flag changes.

Fixtures a driver's test module may override:

- ``kit_rows`` (default 2 500): rows the bulk-insert cases write; lower it for a test server
  that is slow with thousands of rows (more than a few hundred keeps the batching honest);
- ``kit_timeout`` (default 30 s): how long one case may run. A case still waiting then fails
  with ``KitTimeout``, naming the step of the case and the driver code it was waiting in, so a
  primitive that never returns fails its case instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import copy as _copy
import datetime as dt
import decimal
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mega import MegaLifecycleError, MegaValidationError

from . import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    BigInt,
    Bool,
    Bytes,
    CreateIndex,
    CreatePartition,
    CreateTable,
    Database,
    Date,
    DateTime,
    DbError,
    Decimal,
    DropColumn,
    DropIndex,
    DropTable,
    Enum,
    Float,
    ForeignKeyDef,
    Index,
    IndexDef,
    Int,
    IntegrityViolation,
    InvalidQuery,
    Json,
    Model,
    PartitionBy,
    RenameColumn,
    RenameTable,
    String,
    Text,
    Uuid,
)
from .testing import (
    KIT_TIMEOUT_S,
    DatabaseFactory,
    KitTimeout,
    case,
    connected_databases,
    needs,
)


@pytest.fixture
def kit_rows() -> int:
    """Rows the bulk-insert cases write (override in a driver's test module to lower it)."""
    return 2_500


@pytest.fixture
def kit_timeout() -> float:
    """Seconds one kit case may run before it fails naming the step it waits in (override in
    a driver's test module for a slow server)."""
    return KIT_TIMEOUT_S


def _at_resolution(db: Database, value: Any) -> Any:
    """``value`` as the dialect stores it: datetimes cut to its resolution."""
    step = db.dialect.capabilities.datetime_resolution_us
    if isinstance(value, dt.datetime) and step > 1:
        return value.replace(microsecond=value.microsecond - value.microsecond % step)
    return value


# -- the models the kit exercises --------------------------------------------------------------


class KitTeam(Model):
    __table__ = "kit_teams"
    name = String(40, unique=True)


class KitTeamWithParent(Model):
    """``kit_teams`` once a case added ``parent_id`` to it."""

    __table__ = "kit_teams"
    name = String(40, unique=True)
    parent_id = BigInt(nullable=True)


class KitMember(Model):
    __table__ = "kit_members"
    __timestamps__ = True
    __indexes__ = [Index("team_id", "age")]

    email = String(120, unique=True)
    name = String(80)
    age = Int(nullable=True)
    role = Enum("admin", "member", default="member")
    team_id = BigInt(references=KitTeam, on_delete="cascade", nullable=True)


class KitEverything(Model):
    """One column of every kind."""

    __table__ = "kit_everything"

    id = Uuid(primary_key=True)
    small = Int()
    big = BigInt()
    label = String(60)
    body = Text()
    flag = Bool()
    day = Date()
    at = DateTime()
    amount = Decimal(14, 4)
    ratio = Float()
    doc = Json()
    token = Uuid()
    state = Enum("on", "off")
    blob = Bytes()
    maybe = Text(nullable=True)


class KitEvent(Model):
    __table__ = "kit_events"
    __partition__ = PartitionBy("at")

    at = DateTime()
    kind = String(20)


async def _tables(db: Database, *models: type[Model]) -> None:
    """Create the models' tables; on a dialect without foreign-key actions (checked on its own
    in test_dialect_foreign_key_actions_or_a_clear_refusal) the kit's keys restrict instead."""
    tables = [m.table_def() for m in models]
    if not db.dialect.capabilities.foreign_key_actions:
        for table in tables:
            table.columns = [_restricting(c) for c in table.columns]
    await db.apply([CreateTable(t) for t in tables])


def _restricting(field: Any) -> Any:
    if field.references is None or field.on_delete in ("restrict", "no action"):
        return field
    copy = _copy.copy(field)
    copy.on_delete = "restrict"
    return copy


async def _members(db: Database, count: int = 10) -> list[Any]:
    await _tables(db, KitTeam, KitMember)
    team = await db.insert(KitTeam, {"name": "core"})
    return await db.insert_many(
        KitMember,
        [
            {
                "email": f"m{i:02d}@example.com",
                "name": ["Ada", "bob", "Cleo", "dan_x", "Éva"][i % 5],
                "age": None if i == 0 else 20 + i,
                "role": "admin" if i % 3 == 0 else "member",
                "team_id": team if i % 2 else None,
            }
            for i in range(count)
        ],
    )


def _ids(rows: list[dict[str, Any]]) -> list[Any]:
    return [row["id"] for row in rows]


# -- values ------------------------------------------------------------------------------------


@case
async def test_dialect_every_kind_round_trips(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitEverything)
    seoul = dt.timezone(dt.timedelta(hours=9))
    row = {
        "small": -(2**31),
        "big": 2**62 + 7,
        "label": "naïve café — 한국어 ✓ 😀",
        "body": "line\nbreak 'quote' \"double\" back\\slash %s ? $1 " + "x" * 5_000,
        "flag": True,
        "day": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=seoul),
        "amount": decimal.Decimal("-1234567890.1234"),
        "ratio": 0.1 + 0.2,
        "doc": {"list": [1, 2.5, None, True], "nested": {"ü": "ß"}, "empty": {}},
        "token": uuid.uuid4(),
        "state": "off",
        "blob": bytes(range(256)),
        "maybe": None,
    }
    key = await db.insert(KitEverything, row)
    assert isinstance(key, uuid.UUID)
    got = await db.get(KitEverything, key)
    assert got is not None
    for name, value in row.items():
        assert got[name] == _at_resolution(db, value), (name, got[name], value)
    assert got["at"].utcoffset() == dt.timedelta(0)  # stored and read back in UTC
    assert type(got["amount"]) is decimal.Decimal and type(got["flag"]) is bool
    assert isinstance(got["token"], uuid.UUID) and type(got["day"]) is dt.date


@case
async def test_dialect_refuses_naive_datetimes(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitEvent)
    with pytest.raises(InvalidQuery) as err:
        await db.insert(KitEvent, {"at": dt.datetime(2024, 1, 1), "kind": "x"})
    assert err.value.code == "db.naive_datetime"


@case
async def test_dialect_decimals_compare_as_numbers(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitEverything)
    base = {
        "small": 1,
        "big": 1,
        "label": "",
        "body": "",
        "flag": False,
        "day": dt.date.today(),
        "at": dt.datetime.now(dt.UTC),
        "ratio": 0.0,
        "doc": [],
        "token": uuid.uuid4(),
        "state": "on",
        "blob": b"",
    }
    amounts = ["9.5", "10.25", "-3", "100"]
    await db.insert_many(KitEverything, [{**base, "amount": decimal.Decimal(a)} for a in amounts])
    found = await db.find(
        KitEverything, KitEverything.amount > decimal.Decimal("9.6"), order_by="amount"
    )
    assert [r["amount"] for r in found] == [decimal.Decimal("10.25"), decimal.Decimal("100")]


# -- reading -----------------------------------------------------------------------------------


@case
async def test_dialect_filters(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    ids = await _members(db)
    M = KitMember

    async def names(*conditions: Any, **options: Any) -> list[str]:
        return [r["email"][:3] for r in await db.find(M, *conditions, order_by="id", **options)]

    assert await names(M.age == 21) == ["m01"]
    assert len(await names(M.age != 21)) == 8  # NULL is neither equal nor unequal
    assert await names(M.age < 22) == ["m01"]
    assert await names(M.age <= 22) == ["m01", "m02"]
    assert await names(M.age > 28) == ["m09"]
    assert await names(M.age >= 28) == ["m08", "m09"]
    assert await names(M.id.in_(ids[:2])) == ["m00", "m01"]
    assert await names(M.id.in_([])) == []
    assert len(await names(M.id.not_in(ids[:2]))) == 8
    assert len(await names(M.id.not_in([]))) == 10
    assert await names(M.age.is_null()) == ["m00"]
    assert len(await names(M.age.is_not_null())) == 9
    assert await names(M.age == None) == ["m00"]  # noqa: E711
    assert await names(M.name.like("Ad%")) == ["m00", "m05"]
    assert await names(M.name.like("ad%")) == []  # like is case-sensitive everywhere
    assert await names(M.name.ilike("AD%")) == ["m00", "m05"]
    assert await names(M.name.contains("_x")) == ["m03", "m08"]  # _ is literal here
    assert await names(M.name.like("dan%x")) == ["m03", "m08"]
    assert await names(M.name.startswith("b", case_insensitive=True)) == ["m01", "m06"]
    assert await names((M.age < 22) | (M.age > 28)) == ["m01", "m09"]
    assert await names((M.role == "admin") & ~(M.age.is_null())) == ["m03", "m06", "m09"]
    assert await names(where={"role": "admin", "age": None}) == ["m00"]
    assert await names(M.role == "admin", limit=2, offset=1) == ["m03", "m06"]
    assert await names(M.role == "admin", offset=3) == ["m09"]
    # the second query of a shape reuses its cached statement, with its own values
    assert await names(M.role == "admin", offset=2) == ["m06", "m09"]
    assert await names(M.role == "admin", limit=1, offset=2) == ["m06"]
    listed = [r["id"] for r in await db.find(M, order_by=["role", "-email"])]
    for _ in range(2):  # a tuple or string spec is resolved once, then cached
        assert [r["id"] for r in await db.find(M, order_by=("role", "-email"))] == listed
    assert [
        r["age"] for r in await db.find(M, M.age.is_not_null(), order_by=M.age.desc(), limit=3)
    ] == [29, 28, 27]
    assert await db.count(M) == 10
    assert await db.count(M, M.role == "admin") == 4
    assert await db.exists(M, M.email == "m04@example.com")
    assert not await db.exists(M, M.email == "nobody")
    first = await db.first(M, order_by="-email")
    assert first is not None and first["email"] == "m09@example.com"
    assert await db.get(M, ids[3]) == (await db.find(M, M.id == ids[3]))[0]
    assert await db.get(M, -1) is None


@case
async def test_dialect_keyset_pages_visit_every_row_once(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _members(db, 23)
    for order in (["name"], ["-name"], [KitMember.role.desc(), "email"]):
        seen: list[Any] = []
        after = None
        pages = 0
        while True:
            page = await db.page(KitMember, order_by=order, limit=5, after=after)
            seen.extend(_ids(page.items))
            pages += 1
            if page.next is None:
                break
            after = page.next
        everything = await db.find(KitMember, order_by=[*order, "id"])
        assert seen == _ids(everything), order
        assert pages == 5
    page = await db.page(KitMember, KitMember.role == "admin", order_by="email", limit=3)
    assert page.next is not None and len(page.items) == 3
    with pytest.raises(InvalidQuery) as err:
        await db.page(KitMember, order_by="name", limit=3, after=page.next)
    assert err.value.code == "db.invalid_cursor"
    with pytest.raises(InvalidQuery):
        await db.page(KitMember, order_by="email", limit=3, after="not-a-cursor")
    with pytest.raises(InvalidQuery) as err:
        await db.page(KitMember, order_by="age", limit=3)
    assert err.value.code == "db.nullable_keyset"


@case
async def test_dialect_streams_rows_in_batches(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _members(db, 25)
    streamed = [row async for row in db.stream(KitMember, order_by="id", batch=4)]
    assert _ids(streamed) == _ids(await db.find(KitMember, order_by="id"))
    needs(db, "raw_sql")
    raw = [
        row["email"]
        async for row in db.stream_sql(
            f"SELECT email FROM {db.dialect.quote('kit_members')} ORDER BY email", batch=7
        )
    ]
    assert len(raw) == 25 and raw == sorted(raw)


# -- writing -----------------------------------------------------------------------------------


@case
async def test_dialect_insert_many_returns_keys_in_row_order(
    db_factory: DatabaseFactory, kit_rows: int
) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    keys = await db.insert_many(KitTeam, [{"name": f"t{i:04d}"} for i in range(kit_rows)])
    assert len(keys) == kit_rows and len(set(keys)) == kit_rows
    step = max(1, kit_rows // 5)
    rows = await db.find(KitTeam, KitTeam.id.in_(keys[::step]), order_by="id")
    assert [r["name"] for r in rows] == [f"t{i:04d}" for i in range(0, kit_rows, step)]
    assert [r["id"] for r in rows] == keys[::step]
    assert await db.insert_many(KitTeam, []) == []


@case
async def test_dialect_insert_many_is_all_or_nothing(
    db_factory: DatabaseFactory, kit_rows: int
) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    rows = [{"name": f"t{i}"} for i in range(kit_rows * 3 // 5)] + [{"name": "t7"}]
    with pytest.raises(IntegrityViolation):
        await db.insert_many(KitTeam, rows)
    assert await db.count(KitTeam) == 0


@case
async def test_dialect_update_delete_and_their_guards(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    ids = await _members(db)
    M = KitMember
    before = await db.get(M, ids[1])
    assert before is not None
    await asyncio.sleep(0.002)
    assert await db.update(M, {"name": "Zed"}, M.role == "member") == 6
    assert await db.update(M, {"name": "Zed"}, M.role == "member") == 6  # matched, not changed
    after = await db.get(M, ids[1])
    assert after is not None and after["name"] == "Zed"
    assert after["updated_at"] > before["updated_at"]  # auto_now
    assert after["created_at"] == before["created_at"]
    with pytest.raises(InvalidQuery) as err:
        await db.update(M, {"name": "all"})
    assert err.value.code == "db.unfiltered_write"
    with pytest.raises(InvalidQuery):
        await db.delete(M)
    assert await db.delete(M, M.age > 25) == 4
    assert await db.count(M) == 6
    assert await db.update(M, {"age": 1}, all_rows=True) == 6
    assert await db.delete(M, all_rows=True) == 6


@case
async def test_dialect_upsert(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitTeam, KitMember)
    M = KitMember
    row = {"email": "u@example.com", "name": "first", "age": 1}
    await db.upsert(M, row, conflict=["email"])
    await db.upsert(M, {**row, "name": "second", "age": 2}, conflict=[M.email])
    rows = await db.find(M)
    assert len(rows) == 1 and rows[0]["name"] == "second" and rows[0]["age"] == 2
    await db.upsert(M, {**row, "name": "third", "age": 3}, conflict=["email"], update=["age"])
    await db.upsert(M, {**row, "name": "fourth"}, conflict=["email"], update=[])
    only = await db.first(M)
    assert only is not None and (only["name"], only["age"]) == ("second", 3)


@case
async def test_dialect_values_never_become_sql(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _members(db, 3)
    M = KitMember
    evil = "x'); DROP TABLE kit_members; --"
    key = await db.insert(M, {"email": evil, "name": "' OR '1'='1"})
    assert (await db.get(M, key) or {})["email"] == evil
    assert await db.find(M, M.name == "' OR '1'='1") != []
    assert await db.count(M, M.name == "x' OR 'a'='a") == 0
    for call in (
        lambda: db.find(M, where={"name; DROP TABLE kit_members": 1}),
        lambda: db.find(M, order_by="-email; DROP TABLE kit_members"),
        lambda: db.insert(M, {"email": "a", "name": "b", "nope": 1}),
        lambda: db.find(M, KitTeam.name == "core"),
        lambda: db.find(M, "1 = 1"),  # type: ignore[arg-type]
        lambda: db.find(M, limit=-1),
    ):
        with pytest.raises(InvalidQuery):
            await call()
    assert await db.count(M) == 4


# -- transactions ------------------------------------------------------------------------------


@case
async def test_dialect_transactions_commit_and_roll_back(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    other = await db_factory()
    await _tables(db, KitTeam)
    if not db.dialect.capabilities.transactions:
        with pytest.raises(DbError) as err:
            async with db.transaction():
                pass
        assert err.value.code == "db.unsupported"
        needs(db, "transactions")
    async with db.transaction():
        await db.insert(KitTeam, {"name": "kept"})
        assert db.in_transaction
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.insert(KitTeam, {"name": "dropped"})
            raise RuntimeError("boom")
    assert [r["name"] for r in await other.find(KitTeam)] == ["kept"]
    assert not db.in_transaction


@case
async def test_dialect_nested_transactions_are_savepoints(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    needs(db, "transactions")
    if not db.dialect.capabilities.savepoints:
        with pytest.raises(DbError) as err:
            async with db.transaction(), db.transaction():
                pass
        assert err.value.code == "db.unsupported"
        return
    async with db.transaction():
        await db.insert(KitTeam, {"name": "outer"})
        with pytest.raises(IntegrityViolation):
            async with db.transaction():
                await db.insert(KitTeam, {"name": "inner"})
                await db.insert(KitTeam, {"name": "outer"})  # fails: only the inner rolls back
        async with db.transaction():
            await db.insert(KitTeam, {"name": "inner-2"})
    assert sorted(r["name"] for r in await db.find(KitTeam)) == ["inner-2", "outer"]


@case
async def test_dialect_on_commit_runs_after_a_commit_only(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    needs(db, "transactions")
    seen: list[str] = []

    def note(what: str) -> Callable[[], Awaitable[None]]:
        async def callback() -> None:
            # after the COMMIT, outside the transaction: another connection sees the row
            seen.append(f"{what}:{await db.count(KitTeam)}")

        return callback

    with pytest.raises(MegaLifecycleError) as err:
        db.on_commit(note("outside"))
    assert err.value.code == "db.no_transaction"
    async with db.transaction():
        await db.insert(KitTeam, {"name": "a"})
        db.on_commit(note("first"))
        db.on_commit(note("second"))
        assert seen == []
    assert seen == ["first:1", "second:1"]
    with pytest.raises(RuntimeError):
        async with db.transaction():
            db.on_commit(note("rolled back"))
            raise RuntimeError("boom")
    if db.dialect.capabilities.savepoints:
        async with db.transaction():
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    db.on_commit(note("savepoint rolled back"))
                    raise RuntimeError("inner")
            db.on_commit(note("outer"))
    assert seen[2:] == (["outer:1"] if db.dialect.capabilities.savepoints else [])


@case
async def test_dialect_a_task_outliving_its_transaction_runs_outside_it(
    db_factory: DatabaseFactory,
) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    needs(db, "transactions")
    go = asyncio.Event()

    async def later() -> int:
        await go.wait()
        assert not db.in_transaction  # its context still names the finished transaction
        await db.insert(KitTeam, {"name": "later"})  # before: the released connection
        return await db.count(KitTeam)

    async with db.transaction():
        task = asyncio.create_task(later())
        await db.insert(KitTeam, {"name": "inside"})
    go.set()
    assert await task == 2


# -- errors ------------------------------------------------------------------------------------


@case
async def test_dialect_maps_constraint_errors(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _members(db, 2)
    M = KitMember
    with pytest.raises(IntegrityViolation) as err:
        await db.insert(M, {"email": "m01@example.com", "name": "dup"})
    assert err.value.code == "db.unique_violation" and err.value.http_status == 409
    assert "email" in str(err.value.details) or "email" in err.value.message
    with pytest.raises(IntegrityViolation) as err:
        await db.insert(M, {"email": "new@example.com"})
    assert err.value.code == "db.not_null_violation"
    assert err.value.details["column"] in ("name", None)
    with pytest.raises(IntegrityViolation) as err:
        await db.insert(M, {"email": "enum@example.com", "name": "x", "role": "owner"})
    assert err.value.code == "db.check_violation"
    assert await db.count(M) == 2
    needs(db, "foreign_keys")
    with pytest.raises(IntegrityViolation) as err:
        await db.insert(M, {"email": "fk@example.com", "name": "x", "team_id": 999_999})
    assert err.value.code == "db.foreign_key_violation"
    assert await db.count(M) == 2


@case
async def test_dialect_foreign_key_actions_or_a_clear_refusal(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    needs(db, "foreign_keys")
    if not db.dialect.capabilities.foreign_key_actions:
        await db.apply([CreateTable(KitTeam.table_def())])
        with pytest.raises(DbError) as err:
            await db.apply([CreateTable(KitMember.table_def())])
        assert err.value.code == "db.unsupported" and "cascade" in err.value.message
        return
    await _members(db, 4)
    assert await db.count(KitMember, KitMember.team_id.is_not_null()) == 2
    await db.delete(KitTeam, all_rows=True)  # on_delete="cascade"
    assert await db.count(KitMember) == 2
    assert await db.count(KitMember, KitMember.team_id.is_not_null()) == 0


@case
async def test_dialect_raw_sql_with_parameters(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _members(db, 4)
    if not db.dialect.capabilities.raw_sql:
        with pytest.raises(DbError) as err:
            await db.fetch_all("SELECT 1")
        assert err.value.code == "db.unsupported"
        needs(db, "raw_sql")
    p, q = db.dialect.placeholder, db.dialect.quote
    table = q("kit_members")
    rows = await db.fetch_all(
        f"SELECT {q('email')} AS email FROM {table} WHERE {q('age')} > {p(1)} ORDER BY 1", 21
    )
    assert [r["email"] for r in rows] == ["m02@example.com", "m03@example.com"]
    assert await db.fetch_val(f"SELECT COUNT(*) FROM {table}") == 4
    assert await db.fetch_one(f"SELECT 1 AS one FROM {table} WHERE {q('age')} > {p(1)}", 99) is None
    changed = await db.execute(f"UPDATE {table} SET {q('age')} = {p(1)}", 5)
    assert changed == 4
    with pytest.raises(DbError) as err:
        await db.execute("SELECT * FROM kit_no_such_table")
    assert err.value.code == "db.query_failed"


@case
async def test_dialect_validation_schema_derived_from_the_model(
    db_factory: DatabaseFactory,
) -> None:
    checked = KitMember.validate({"email": "a@b.c", "name": "A", "age": 3})
    assert checked == {"email": "a@b.c", "name": "A", "age": 3}
    with pytest.raises(MegaValidationError) as err:
        KitMember.validate({"email": "x" * 121, "age": "old", "role": "owner", "extra": 1})
    fields = {e["field"] for e in err.value.details["errors"]}
    assert fields == {"email", "name", "age", "role", "extra"}
    assert KitMember.validate({"age": 4}, partial=True) == {"age": 4}
    schema = KitMember.json_schema()
    assert schema["required"] == ["email", "name"]
    assert schema["properties"]["role"]["enum"] == ["admin", "member"]


# -- schema ------------------------------------------------------------------------------------


@case
async def test_dialect_ddl_ops_apply_and_introspect_back(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitTeam, KitMember)
    schema = await db.introspect()
    members = schema["kit_members"]
    assert members.column_names == list(KitMember.__fields__)
    assert members.column("id").primary_key and not members.column("id").nullable
    assert members.column("age").nullable and not members.column("email").nullable
    assert any(i.columns == ("team_id", "age") for i in members.indexes)
    assert any(i.unique and i.columns == ("email",) for i in members.indexes)
    action = "cascade" if db.dialect.capabilities.foreign_key_actions else "restrict"
    keys = [(f.columns, f.ref_table, f.ref_columns, f.on_delete) for f in members.foreign_keys]
    if db.dialect.capabilities.foreign_keys:
        assert keys == [(("team_id",), "kit_teams", ("id",), action)]
    else:
        assert keys == []

    nickname = String(30, nullable=True)
    nickname.name = "nickname"
    await db.apply([AddColumn("kit_members", nickname)])
    await db.apply([RenameColumn("kit_members", "nickname", "handle")])
    await db.apply([CreateIndex("kit_members", IndexDef("ix_kit_members_handle", ("handle",)))])
    schema = await db.introspect()
    assert "handle" in schema["kit_members"].column_names
    assert any(i.name == "ix_kit_members_handle" for i in schema["kit_members"].indexes)
    await db.apply([DropIndex("kit_members", "ix_kit_members_handle")])
    await db.apply([DropColumn("kit_members", "handle")])
    schema = await db.introspect()
    assert "handle" not in schema["kit_members"].column_names
    assert not any(i.name == "ix_kit_members_handle" for i in schema["kit_members"].indexes)

    # alter a column: name becomes nullable and longer; rows survive (and so do the rows
    # pointing at them, where the dialect can alter a referenced table)
    if not db.dialect.capabilities.alter_referenced_tables:
        await db.apply([DropTable("kit_members")])
    await db.insert(KitTeam, {"name": "keep"})
    wider = String(200, nullable=True)
    wider.name = "name"
    target = KitTeam.table_def()
    target.columns = [wider if c.name == "name" else c for c in target.columns]
    capabilities = db.dialect.capabilities
    if not capabilities.alter_column:
        with pytest.raises(DbError) as err:
            await db.apply([AlterColumn("kit_teams", wider, target=target)])
        assert err.value.code == "db.unsupported"
    else:
        if capabilities.rebuilds_tables:  # a rebuild needs the table after the change
            with pytest.raises(DbError) as err:
                await db.apply([AlterColumn("kit_teams", wider)])
            assert err.value.code == "db.unsupported"
        await db.apply([AlterColumn("kit_teams", wider, target=target)])
        teams = (await db.introspect())["kit_teams"]
        assert teams.column("name").nullable
    if capabilities.raw_sql:
        assert [r["name"] for r in await db.fetch_all("SELECT name FROM kit_teams")] == ["keep"]
    else:
        assert [r["name"] for r in await db.find(KitTeam)] == ["keep"]

    await db.apply([RenameTable("kit_teams", "kit_groups")])
    assert "kit_groups" in await db.introspect()
    if db.dialect.capabilities.alter_referenced_tables:
        await db.apply([DropTable("kit_members")])
    await db.apply([DropTable("kit_groups")])
    assert not {"kit_members", "kit_groups"} & set(await db.introspect())


@case
async def test_dialect_adds_a_foreign_key_to_an_existing_table(
    db_factory: DatabaseFactory,
) -> None:
    db = await db_factory()
    await _tables(db, KitTeam)
    needs(db, "foreign_keys")
    if not db.dialect.capabilities.alter_foreign_keys:
        fk = ForeignKeyDef("fk_kit_teams_x", ("id",), "kit_teams", ("id",), "restrict")
        with pytest.raises(DbError) as err:
            await db.apply([AddForeignKey("kit_teams", fk, target=KitTeam.table_def())])
        assert err.value.code == "db.unsupported"
        return
    owner = BigInt(nullable=True)
    owner.name = "parent_id"
    await db.apply([AddColumn("kit_teams", owner)])
    target = KitTeam.table_def()
    linked = BigInt(nullable=True, references="kit_teams.id", on_delete="set null")
    linked.name = "parent_id"
    target.columns = [*target.columns, linked]
    fk = ForeignKeyDef("fk_kit_teams_parent_id", ("parent_id",), "kit_teams", ("id",), "set null")
    await db.apply([AddForeignKey("kit_teams", fk, target=target)])
    keys = (await db.introspect())["kit_teams"].foreign_keys
    assert [(k.columns, k.ref_table, k.on_delete) for k in keys] == [
        (("parent_id",), "kit_teams", "set null")
    ]
    with pytest.raises(IntegrityViolation):
        await db.insert(KitTeamWithParent, {"name": "orphan", "parent_id": 424242})


@case
async def test_dialect_failed_batch_of_ops_rolls_back_where_ddl_is_transactional(
    db_factory: DatabaseFactory,
) -> None:
    db = await db_factory()
    with pytest.raises(DbError):
        await db.apply([CreateTable(KitTeam.table_def()), CreateTable(KitTeam.table_def())])
    # transactional DDL: nothing of the batch stays; otherwise the ops before the failure do
    created = "kit_teams" in await db.introspect()
    assert created is not db.dialect.capabilities.transactional_ddl


@case
async def test_dialect_partitioned_tables_or_their_fallback(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    ops: list[Any] = [CreateTable(KitEvent.table_def())]
    for month in (1, 2):
        ops.append(
            CreatePartition(
                "kit_events",
                f"kit_events_2024_{month:02d}",
                dt.datetime(2024, month, 1, tzinfo=dt.UTC),
                dt.datetime(2024, month + 1, 1, tzinfo=dt.UTC),
            )
        )
    await db.apply(ops)
    when = [dt.datetime(2024, 1, 15, tzinfo=dt.UTC), dt.datetime(2024, 2, 3, tzinfo=dt.UTC)]
    await db.insert_many(KitEvent, [{"at": at, "kind": "k"} for at in when])
    assert await db.count(KitEvent, KitEvent.at >= when[1]) == 1
    info = (await db.introspect())["kit_events"]
    if db.dialect.capabilities.partitioning:
        assert info.partitions == ["kit_events_2024_01", "kit_events_2024_02"]
        with pytest.raises(DbError):  # no partition holds March
            await db.insert(KitEvent, {"at": dt.datetime(2024, 3, 2, tzinfo=dt.UTC), "kind": "k"})
    else:
        assert info.partitions == []


@case
async def test_dialect_partial_indexes_or_a_clear_refusal(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await _tables(db, KitTeam, KitMember)
    index = Index("name", unique=True, where=KitMember.role == "admin").resolve("kit_members")
    if not db.dialect.capabilities.partial_indexes:
        with pytest.raises(DbError) as err:
            await db.apply([CreateIndex("kit_members", index)])
        assert err.value.code == "db.unsupported"
        return
    await db.apply([CreateIndex("kit_members", index)])
    await db.insert_many(
        KitMember,
        [
            {"email": "a@x", "name": "Same", "role": "admin"},
            {"email": "b@x", "name": "Same", "role": "member"},
            {"email": "c@x", "name": "Same", "role": "member"},
        ],
    )
    with pytest.raises(IntegrityViolation):
        await db.insert(KitMember, {"email": "d@x", "name": "Same", "role": "admin"})


@case
async def test_dialect_migration_lock_excludes_a_second_holder(
    db_factory: DatabaseFactory,
) -> None:
    first, second = await db_factory(), await db_factory()
    async with first.migration_lock("kit-lock", timeout_s=5):
        with pytest.raises(DbError) as err:
            async with second.migration_lock("kit-lock", timeout_s=0.3):
                pytest.fail("the lock was held twice")
        assert err.value.code == "db.lock_timeout"
        async with second.migration_lock("kit-other-name", timeout_s=1):
            pass  # another name is another lock
    async with second.migration_lock("kit-lock", timeout_s=1):
        pass


@case
async def test_dialect_migration_lock_waits_for_the_holder(db_factory: DatabaseFactory) -> None:
    first, second = await db_factory(), await db_factory()
    order: list[str] = []
    held = asyncio.Event()

    async def hold() -> None:
        async with first.migration_lock("kit-wait", timeout_s=5):
            order.append("first in")
            held.set()
            await asyncio.sleep(0.3)
            order.append("first out")

    holder = asyncio.create_task(hold())
    await held.wait()
    async with second.migration_lock("kit-wait", timeout_s=5):
        order.append("second in")
    await holder
    assert order == ["first in", "first out", "second in"]


@case
async def test_dialect_health_and_not_connected(db_factory: DatabaseFactory) -> None:
    db = await db_factory()
    await db.health()
    await db.close()
    with pytest.raises(Exception) as err:
        if db.dialect.capabilities.raw_sql:
            await db.fetch_val("SELECT 1")
        else:
            await db.health()
    assert getattr(err.value, "code", None) == "db.not_connected"


#: what ``from mega.plugins.db.dialect_suite import *`` brings into a driver's test module
__all__ = [
    "DatabaseFactory",
    "KitTimeout",
    "connected_databases",
    "kit_rows",
    "kit_timeout",
    "needs",
    *sorted(name for name in list(globals()) if name.startswith("test_dialect_")),
]
