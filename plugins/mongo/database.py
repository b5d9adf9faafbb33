"""The ``mongo`` db driver: models and CRUD on MongoDB through PyMongo's asyncio API.

``AsyncMongoClient`` (PyMongo >= 4.13) is the maintained successor of motor, which its
maintainers deprecated; docs/dialects.md records the measurement. The CRUD API is the one every
dialect offers (``Database``); this driver writes it on collections instead of SQL. Inside
``async with db.transaction():`` every call of the task passes the transaction's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mega import MegaConfigError, get_logger, import_driver
from mega.plugins.db import (
    Database,
    DbError,
    Page,
    TableInfo,
    Transaction,
    check_columns,
    check_filtered,
    check_window,
    connection_lost,
    field_name,
    integrity,
    invalid,
    invalid_value,
    query_failed,
    retryable,
    unsupported,
)

from .dialect import Documents, MongoDialect

if TYPE_CHECKING:
    from mega.plugins.db import Condition, Model, Op, OrderSpec
    from mega.plugins.db import Field as ModelField

#: MongoDB's database names: no ``/\\. "$``, at most 63 bytes
_DATABASE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
#: server error codes
_DUPLICATE_KEY = (11000, 11001)
_VALIDATION = 121
_UNAUTHORIZED = (13, 18)
_RETRYABLE_CODES = (112, 251)  # WriteConflict, NoSuchTransaction
COUNTERS = "mega_counters"
#: how servers without error codes (mongoeco) say it
_AUTH_MESSAGE = re.compile(
    r"Authentication (required|failed)|not authorized|requires authentication"
)


class MongoOptions(BaseModel):
    """``[adapters.db.<alias>]`` keys for ``driver = "mongo"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a ``mongodb://`` or ``mongodb+srv://`` URL (credentials, replicaSet, tls... as usual)
    url: str = "mongodb://127.0.0.1:27017"
    #: the database; None: the URL's path, else ``mega``
    database: str | None = Field(default=None, pattern=_DATABASE.pattern)
    pool_min: int = Field(default=0, ge=0)
    pool_max: int = Field(default=10, ge=1)
    #: how long to look for a usable server before failing (PyMongo's default is 30 s)
    server_selection_timeout_ms: int = Field(default=5_000, gt=0, le=120_000)
    connect_timeout_ms: int = Field(default=5_000, gt=0, le=120_000)
    #: a single operation running longer is abandoned (None: no limit)
    socket_timeout_ms: int | None = Field(default=None, gt=0)
    #: multi-document transactions: "auto" asks the server (replica set / mongos: yes),
    #: "on" / "off" say it outright
    transactions: Literal["auto", "on", "off"] = "auto"
    #: the ``$jsonSchema`` validators migrations put on collections
    validation_level: Literal["strict", "moderate", "off"] = "strict"
    validation_action: Literal["error", "warn"] = "error"
    #: autoincrement keys reserved per round trip to ``mega_counters`` (hi/lo)
    id_block: int = Field(default=50, ge=1, le=100_000)
    app_name: str = "mega"


class MongoDatabase(Database):
    """A ``db`` adapter on one MongoDB database."""

    dialect: MongoDialect

    def __init__(self, *, alias: str, options: MongoOptions) -> None:
        super().__init__(alias=alias)
        self.options = options
        self.dialect = MongoDialect()
        self._client: Any = None
        self._db: Any = None
        self._collections: dict[str, Any] = {}
        self._ids: dict[str, tuple[int, int]] = {}
        self._id_locks: dict[str, asyncio.Lock] = {}
        self._pymongo: Any = None
        path = urllib.parse.urlsplit(options.url).path.lstrip("/")
        self._database_name = options.database or path or None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def database_name(self) -> str:
        """The database's name: ``database``, else the URL's path, else ``mega``."""
        return self._database_name or "mega"

    async def connect(self) -> None:
        pymongo = import_driver("pymongo", extra="mongo", what="the mongo db driver")
        self._pymongo = pymongo
        options = self.options
        safe_url = redact(options.url)

        def bad_url(reason: str) -> MegaConfigError:
            return MegaConfigError(
                "mongo.invalid_url",
                f"adapters.db.{self.alias}.url {safe_url!r} is not a MongoDB URL ({reason}); "
                "expected mongodb://[user:password@]host[:port][/database][?options]",
                {"alias": self.alias, "url": safe_url},
            )

        if not options.url.startswith(("mongodb://", "mongodb+srv://")):
            raise bad_url("it must start with mongodb:// or mongodb+srv://")
        path = urllib.parse.urlsplit(options.url).path.lstrip("/")
        self._database_name = options.database or path or "mega"
        try:
            # builds and validates only: SRV lookups and connections happen in the background
            client = pymongo.AsyncMongoClient(
                options.url,
                minPoolSize=options.pool_min,
                maxPoolSize=options.pool_max,
                serverSelectionTimeoutMS=options.server_selection_timeout_ms,
                connectTimeoutMS=options.connect_timeout_ms,
                socketTimeoutMS=options.socket_timeout_ms,
                appname=options.app_name,
                tz_aware=True,
                uuidRepresentation="standard",
                connect=False,
            )
        except (pymongo.errors.InvalidURI, pymongo.errors.ConfigurationError, ValueError) as exc:
            raise bad_url(str(exc)) from None
        try:
            hello = await client.admin.command("hello")
            # needs the credentials where the server asks for them (ping does not)
            await client[self.database_name].list_collection_names(filter={"name": COUNTERS})
        except Exception as exc:
            await client.close()
            raise self._connect_error(exc, safe_url) from None
        transactions = {
            "on": True,
            "off": False,
            "auto": bool(hello.get("setName")) or hello.get("msg") == "isdbgrid",
        }[options.transactions]
        self.dialect = MongoDialect(transactions=transactions)
        self._client = client
        self._db = client[self.database_name]
        self._collections = {}
        self._ids = {}

    def _connect_error(self, exc: BaseException, safe_url: str) -> MegaConfigError | DbError:
        errors = self._pymongo.errors
        if _unauthorized(exc) or isinstance(exc, errors.ConfigurationError):
            return MegaConfigError(
                "mongo.auth_failed",
                f"the MongoDB server at {safe_url} refused db adapter {self.alias!r} "
                f"({type(exc).__name__}: {exc}); put a user allowed to use database "
                f"{self.database_name!r} in the url (mongodb://user:password@host/"
                "?authSource=admin)",
                {"alias": self.alias, "url": safe_url},
            )
        if isinstance(exc, errors.ServerSelectionTimeoutError | errors.ConnectionFailure):
            return DbError(
                "mongo.unreachable",
                f"no MongoDB server answered db adapter {self.alias!r} at {safe_url} within "
                f"server_selection_timeout_ms={self.options.server_selection_timeout_ms} "
                f"({str(exc).split(', Timeout')[0]}); start it, or fix the url",
                {"alias": self.alias, "url": safe_url},
            )
        return query_failed(exc, "hello")

    async def close(self) -> None:
        client, self._client, self._db = self._client, None, None
        if client is not None:
            await client.close()

    async def health(self) -> None:
        await self._database().command("ping")

    def _database(self) -> Any:
        db = self._db
        if db is None:
            raise self.not_connected()
        return db

    def collection(self, model: type[Model] | str) -> Any:
        """PyMongo's ``AsyncCollection`` of a model (or a collection name): the driver's own
        API, for what the CRUD API does not say (aggregations, bulk writes…)."""
        name = model if isinstance(model, str) else model.__table__
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = self._database()[name]
        elif self._db is None:
            raise self.not_connected()
        return found

    async def command(self, command: Mapping[str, Any] | str, **kwargs: Any) -> Any:
        """Run a database command (``{"collStats": "users"}``), errors mapped."""
        try:
            return await self._database().command(command, session=self._session(), **kwargs)
        except Exception as exc:
            raise self._fail(exc, f"command {command!r}") from exc

    # -- errors -----------------------------------------------------------------------------

    def map_error(self, exc: BaseException) -> DbError | None:
        if isinstance(exc, OverflowError):  # BSON holds 64-bit integers
            return invalid_value(str(exc))
        errors = self._pymongo.errors if self._pymongo is not None else None
        if errors is None or not isinstance(exc, errors.PyMongoError):
            return None
        if isinstance(exc, errors.BulkWriteError):
            first = (exc.details.get("writeErrors") or [{}])[0]
            return self._write_error(first.get("code"), first, str(first.get("errmsg", exc)))
        if isinstance(exc, errors.AutoReconnect | errors.ConnectionFailure):
            return connection_lost(self.alias, exc)
        if isinstance(exc, errors.OperationFailure):
            labels = (exc.details or {}).get("errorLabels", [])
            if exc.has_error_label("TransientTransactionError") or "TransientTransactionError" in (
                labels
            ):
                return retryable("transient transaction error", str(exc))
            if exc.code in _RETRYABLE_CODES:
                return retryable("write conflict", str(exc))
            return self._write_error(exc.code, exc.details or {}, str(exc))
        return None

    def _write_error(self, code: Any, details: Mapping[str, Any], message: str) -> DbError | None:
        if code in _DUPLICATE_KEY:
            pattern = details.get("keyPattern") or {}
            columns = [str(k) for k in pattern]
            found = re.search(r"index: (\S+)", message)
            table = re.search(r"collection: [^.]+\.(\S+)", message)
            return integrity(
                "unique",
                constraint=found.group(1) if found else None,
                table=table.group(1) if table else None,
                column=",".join(columns) or None,
                message=message,
            )
        if code == _VALIDATION:
            kind, column = _validation_failure(details)
            return integrity(
                kind, constraint="$jsonSchema", table=None, column=column, message=message
            )
        if code in _UNAUTHORIZED or _AUTH_MESSAGE.search(message):
            return DbError(
                "mongo.auth_failed",
                f"the MongoDB server refused db adapter {self.alias!r}: {message}",
                {"alias": self.alias},
            )
        return None

    def _fail(self, exc: BaseException, what: str) -> BaseException:
        if isinstance(exc, DbError):
            return exc
        if self._db is None and not isinstance(exc, MegaConfigError):
            return self.not_connected()
        return self.translate(exc, what)

    # -- raw SQL: not spoken ----------------------------------------------------------------

    def _no_sql(self) -> DbError:
        if self._db is None:
            raise self.not_connected()
        return unsupported(
            "mongo",
            "raw SQL",
            "use db.collection(Model) for PyMongo's own API, or db.command({...})",
        )

    def acquire(self) -> contextlib.AbstractAsyncContextManager[Any]:
        raise self._no_sql()

    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        raise self._no_sql()

    async def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        raise self._no_sql()

    async def fetch_named_on(
        self, conn: Any, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[Sequence[Any]]]:
        raise self._no_sql()

    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        raise self._no_sql()

    async def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[tuple[list[str], list[Sequence[Any]]]]:
        raise self._no_sql()
        yield  # pragma: no cover

    async def execute(self, sql: str, *params: Any) -> int:
        raise self._no_sql()

    async def fetch_all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        raise self._no_sql()

    async def fetch_one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        raise self._no_sql()

    async def fetch_val(self, sql: str, *params: Any) -> Any:
        raise self._no_sql()

    async def stream_sql(
        self, sql: str, *params: Any, batch: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        raise self._no_sql()
        yield  # pragma: no cover

    # -- transactions -----------------------------------------------------------------------

    def _session(self) -> Any:
        tx = self._current()
        return None if tx is None else tx.conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """A multi-document transaction (a replica set or mongos; ``transactions = "on"``
        for a server known to support them). They do not nest: no savepoints."""
        if self._current() is not None:
            raise unsupported("mongo", "nested transactions (savepoints)", "use one transaction")
        if not self.dialect.capabilities.transactions:
            raise unsupported(
                "mongo",
                "transactions on this server",
                "MongoDB runs multi-document transactions on a replica set or a sharded "
                "cluster: start mongod with --replSet (one member is enough), or set "
                'transactions = "on" if this server supports them',
            )
        if self._client is None:
            raise self.not_connected()
        async with self._client.start_session() as session:
            try:
                await session.start_transaction()
            except Exception as exc:
                raise self._fail(exc, "startTransaction") from exc
            tx = Transaction(session)
            token = self._tx.set(tx)
            try:
                yield self
            except BaseException:
                tx.open = False
                self._tx.reset(token)
                with contextlib.suppress(Exception):  # a lost connection cannot abort
                    await session.abort_transaction()
                raise
            tx.open = False
            self._tx.reset(token)
            try:
                await session.commit_transaction()
            except Exception as exc:
                raise self._fail(exc, "commitTransaction") from exc
        for callback in tx.after_commit:
            try:
                await callback()
            except Exception as exc:  # committed is committed
                get_logger(component="db", alias=self.alias).error(
                    "db.on_commit_failed", callback=repr(callback), error=repr(exc)
                )

    # -- keys -------------------------------------------------------------------------------

    async def _next_ids(self, docs: Documents, count: int) -> list[int]:
        """``count`` new autoincrement keys: blocks of ``id_block`` reserved with one ``$inc``
        on ``mega_counters`` (hi/lo), so most inserts cost no extra round trip. Keys grow
        within a process; across processes they are unique, not ordered."""
        name = docs.collection
        lock = self._id_locks.get(name)
        if lock is None:
            lock = self._id_locks[name] = asyncio.Lock()
        async with lock:
            low, high = self._ids.get(name, (0, 0))
            if high - low >= count:
                self._ids[name] = (low + count, high)
                return list(range(low + 1, low + count + 1))
            block = max(count, self.options.id_block)
            try:
                # outside any transaction: a rolled-back insert still used its key
                counter = await self.collection(COUNTERS).find_one_and_update(
                    {"_id": name},
                    {"$inc": {"next": block}},
                    upsert=True,
                    return_document=self._pymongo.ReturnDocument.AFTER,
                )
            except Exception as exc:
                raise self._fail(exc, f"reserve keys of {name}") from exc
            high = int(counter["next"])
            low = high - block
            self._ids[name] = (low + count, high)
            return list(range(low + 1, low + count + 1))

    # -- CRUD -------------------------------------------------------------------------------

    async def get(self, model: type[Model], key: Any) -> dict[str, Any] | None:
        docs = self.dialect.documents(model)
        coll = self.collection(model)
        try:
            doc = await coll.find_one(
                {"_id": {"$eq": docs.encode_key(key)}}, session=self._session()
            )
        except OverflowError:
            return None  # a key no document can have
        except Exception as exc:
            raise self._fail(exc, f"find_one {docs.collection}") from exc
        return None if doc is None else docs.row(doc)

    async def find(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[dict[str, Any]]:
        check_window(limit, offset)
        query = self.dialect.filter(model, self._where(model, conditions, where))
        sort = self.dialect.sort(model, self._order(model, order_by))
        return await self._find(model, query, sort, limit, offset)

    async def _find(
        self,
        model: type[Model],
        query: dict[str, Any],
        sort: list[tuple[str, int]],
        limit: int | None,
        offset: int | None,
    ) -> list[dict[str, Any]]:
        if limit == 0:
            return []
        docs = self.dialect.documents(model)
        coll = self.collection(model)
        try:
            cursor = coll.find(
                query,
                sort=sort or None,
                skip=offset or 0,
                limit=limit or 0,
                session=self._session(),
            )
            found = await cursor.to_list(None)
        except Exception as exc:
            raise self._fail(exc, f"find {docs.collection}") from exc
        row = docs.row
        return [row(doc) for doc in found]

    async def count(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
    ) -> int:
        query = self.dialect.filter(model, self._where(model, conditions, where))
        try:
            return int(await self.collection(model).count_documents(query, session=self._session()))
        except Exception as exc:
            raise self._fail(exc, f"count {model.__table__}") from exc

    async def exists(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
    ) -> bool:
        query = self.dialect.filter(model, self._where(model, conditions, where))
        try:
            found = await self.collection(model).find_one(
                query, projection={"_id": 1}, session=self._session()
            )
        except Exception as exc:
            raise self._fail(exc, f"exists {model.__table__}") from exc
        return found is not None

    async def page(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> Page:
        keys, fingerprint, where_all = self._keyset(
            model, conditions, where, order_by, limit, after
        )
        query = self.dialect.filter(model, where_all)
        rows = await self._find(model, query, self.dialect.sort(model, keys), limit + 1, None)
        return self._keyset_page(rows, limit, keys, fingerprint)

    async def stream(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        batch: int = 500,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching document, read ``batch`` at a time through one server cursor."""
        query = self.dialect.filter(model, self._where(model, conditions, where))
        sort = self.dialect.sort(model, self._order(model, order_by))
        docs = self.dialect.documents(model)
        try:
            cursor = self.collection(model).find(
                query, sort=sort or None, batch_size=batch, session=self._session()
            )
            async with cursor:
                async for doc in cursor:
                    yield docs.row(doc)
        except DbError:
            raise
        except Exception as exc:
            raise self._fail(exc, f"find {docs.collection}") from exc

    async def insert(self, model: type[Model], values: Mapping[str, Any]) -> Any:
        plan = self.dialect.plan(model)
        docs = self.dialect.documents(model)
        row = self._with_defaults(plan, values)
        docs.check(row, partial=False)
        doc = docs.document(row)
        key = row.get(docs.pk)
        if key is None:
            if not docs.autoincrement:
                raise integrity(
                    "not_null",
                    constraint=None,
                    table=docs.collection,
                    column=docs.pk,
                    message=f"{model.__name__}.{docs.pk} (the primary key) needs a value",
                )
            key = (await self._next_ids(docs, 1))[0]
            doc["_id"] = key
        coll = self.collection(model)
        try:
            await coll.insert_one(doc, session=self._session())
        except Exception as exc:
            raise self._fail(exc, f"insert {docs.collection}") from exc
        return key

    async def insert_many(self, model: type[Model], rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Insert documents in one ordered batch; all or none (in a transaction where the
        server has them, else by deleting what a failed batch inserted). Keys in row order."""
        plan = self.dialect.plan(model)
        docs = self.dialect.documents(model)
        prepared = [self._with_defaults(plan, row) for row in rows]
        if not prepared:
            return []
        for row in prepared:
            docs.check(row, partial=False)
        missing = [i for i, row in enumerate(prepared) if row.get(docs.pk) is None]
        if missing and not docs.autoincrement:
            raise integrity(
                "not_null",
                constraint=None,
                table=docs.collection,
                column=docs.pk,
                message=f"{model.__name__}.{docs.pk} (the primary key) needs a value",
            )
        documents = [docs.document(row) for row in prepared]
        if missing:
            for i, key in zip(missing, await self._next_ids(docs, len(missing)), strict=True):
                documents[i]["_id"] = key
                prepared[i][docs.pk] = key
        keys = [doc["_id"] for doc in documents]
        coll = self.collection(model)
        if self._current() is None and self.dialect.capabilities.transactions:
            async with self.transaction():
                await self._insert_documents(coll, documents, docs)
        else:
            inserted = await self._insert_documents(coll, documents, docs)
            if inserted is not None:
                error, count = inserted
                if self._current() is None and count:  # no transaction: undo what went in
                    with contextlib.suppress(Exception):
                        await coll.delete_many({"_id": {"$in": keys[:count]}})
                raise error
        return [row.get(docs.pk) for row in prepared]

    async def _insert_documents(
        self, coll: Any, documents: list[Any], docs: Documents
    ) -> tuple[BaseException, int] | None:
        """Insert in order; on failure the error and how many documents went in before it
        (None: all went in). Inside a transaction the error is raised at once."""
        try:
            await coll.insert_many(documents, ordered=True, session=self._session())
        except Exception as exc:
            error = self._fail(exc, f"insert {docs.collection}")
            if self._current() is not None:
                raise error from exc
            details = getattr(exc, "details", None) or {}
            return error, int(details.get("nInserted", 0))
        return None

    async def update(
        self,
        model: type[Model],
        values: Mapping[str, Any],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        all_rows: bool = False,
    ) -> int:
        plan = self.dialect.plan(model)
        docs = self.dialect.documents(model)
        check_columns(plan, values)
        if not values:
            raise invalid("empty_update", f"update of {model.__name__} with no values to set")
        changes = dict(values)
        if plan.auto_now:
            now = dt.datetime.now(dt.UTC)
            for name in plan.auto_now:
                changes.setdefault(name, now)
        docs.check(changes, partial=True)
        condition = self._where(model, conditions, where)
        check_filtered(model, "update", condition, all_rows)
        query = self.dialect.filter(model, condition)
        try:
            result = await self.collection(model).update_many(
                query, {"$set": docs.document(changes)}, session=self._session()
            )
        except Exception as exc:
            raise self._fail(exc, f"update {docs.collection}") from exc
        return int(result.matched_count)

    async def delete(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        all_rows: bool = False,
    ) -> int:
        condition = self._where(model, conditions, where)
        check_filtered(model, "delete", condition, all_rows)
        query = self.dialect.filter(model, condition)
        try:
            result = await self.collection(model).delete_many(query, session=self._session())
        except Exception as exc:
            raise self._fail(exc, f"delete {model.__table__}") from exc
        return int(result.deleted_count)

    async def upsert(
        self,
        model: type[Model],
        values: Mapping[str, Any],
        *,
        conflict: Sequence[str | ModelField],
        update: Sequence[str | ModelField] | None = None,
    ) -> None:
        """Insert a document or update the one matching ``conflict`` (an ``update_one`` with
        ``upsert=True``; a lost race on the unique index is retried once)."""
        plan = self.dialect.plan(model)
        docs = self.dialect.documents(model)
        row = self._with_defaults(plan, values)
        targets = tuple(field_name(model, c) for c in conflict)
        if not targets:
            raise invalid("empty_conflict", "upsert needs the conflict columns (a unique key)")
        if update is None:
            changed = tuple(c for c in values if c not in targets and c != plan.pk)
            changed += tuple(c for c in plan.auto_now if c not in changed)
        else:
            changed = tuple(field_name(model, c) for c in update)
        if plan.auto_now:
            now = dt.datetime.now(dt.UTC)
            for name in plan.auto_now:
                row[name] = now
        docs.check(row, partial=False)
        if row.get(plan.pk) is None and docs.autoincrement:
            row[plan.pk] = (await self._next_ids(docs, 1))[0]
        document = docs.document(row)
        query = {docs.stored[c]: {"$eq": document[docs.stored[c]]} for c in targets}
        set_fields = {docs.stored[c] for c in changed}
        change: dict[str, Any] = {
            "$setOnInsert": {k: v for k, v in document.items() if k not in set_fields}
        }
        if set_fields:
            change["$set"] = {k: v for k, v in document.items() if k in set_fields}
        coll = self.collection(model)
        for attempt in (1, 2):
            try:
                await coll.update_one(query, change, upsert=True, session=self._session())
                return
            except Exception as exc:
                error = self._fail(exc, f"upsert {docs.collection}")
                lost_race = getattr(error, "code", "") == "db.unique_violation"
                if attempt == 2 or not lost_race or self._current() is not None:
                    raise error from exc

    # -- schema -----------------------------------------------------------------------------

    async def apply(self, ops: Iterable[Op], *, then: Any = None) -> None:
        """Apply schema ops as collection and index commands, one at a time (they are not
        transactional: a failure leaves the ops before it applied)."""
        from .schema import apply_op

        for op in ops:
            await apply_op(self, op)
        if then is not None:
            await then()

    async def introspect(self) -> dict[str, TableInfo]:
        from .schema import introspect

        return await introspect(self)

    def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> contextlib.AbstractAsyncContextManager[None]:
        from .lock import migration_lock

        return migration_lock(self, name, timeout_s)


def _validation_failure(details: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(kind, field)`` of a ``$jsonSchema`` refusal: a missing required field is a not-null
    violation, anything else a check violation (MongoDB's errInfo names the rule)."""
    info = details.get("errInfo") or {}
    rules = (info.get("details") or {}).get("schemaRulesNotSatisfied") or []
    for rule in rules:
        if rule.get("operatorName") == "required" and rule.get("missingProperties"):
            return "not_null", str(rule["missingProperties"][0])
    for rule in rules:
        for prop in rule.get("propertiesNotSatisfied") or []:
            name = prop.get("propertyName")
            return "check", prop.get("title", name) if name == "_id" else name
    return "check", None


def _unauthorized(exc: BaseException) -> bool:
    return getattr(exc, "code", None) in _UNAUTHORIZED or bool(_AUTH_MESSAGE.search(str(exc)))


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(?<=://)([^:/@]+):([^@/]*)@", r"\1:***@", url)
