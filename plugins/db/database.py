"""``Database``: the ``db`` adapter every dialect plugin implements, and the CRUD API on top.

A driver implements the ``DatabaseDriver`` protocol (driver.py): a handful of primitives on one
raw connection (``acquire``, ``execute_on``, ``fetch_on``, ``fetch_named_on``, ``insert_on``,
``stream_on``), error mapping, introspection and the migration lock; everything users call
(``get``, ``find``, ``page``, ``insert_many``, ``upsert``, ``transaction``…) is written once here
against those primitives and the dialect.

Inside ``async with db.transaction():`` every call of the same task runs on the transaction's
connection (a context variable carries it); a nested ``transaction()`` is a savepoint.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import datetime as dt
import decimal
import hashlib
import json
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from mega import MegaLifecycleError, get_logger

from .dialect import Dialect, ModelPlan
from .driver import Batch, OldName, Row, adopt_old_names
from .errors import DbError, invalid, query_failed
from .expressions import Compare, Condition, IsNull, Or, Order, all_of

if TYPE_CHECKING:
    from .fields import Field
    from .model import Model
    from .schema import Op, TableInfo

#: what ``order_by`` takes: a field, ``field.desc()``, or ``"name"`` / ``"-name"``
OrderSpec = Order | Any | str
#: rows per INSERT statement in insert_many (lowered further by the dialect's parameter limit)
INSERT_BATCH = 1_000


@dataclass
class Transaction:
    """The transaction open in a task (``Database.transaction``): its connection — for a
    document dialect, its session — how deep its savepoints go, and what waits for its commit.

    A dialect that writes ``transaction()`` itself makes one per transaction and sets it in
    ``Database._tx`` for the block, as the base class does."""

    conn: Any
    depth: int = 0
    #: callbacks to run once the outermost transaction committed (``Database.on_commit``)
    after_commit: list[Callable[[], Awaitable[Any]]] = dataclass_field(default_factory=list)
    #: False once its block ended: a task started inside the block (which inherited the
    #: context) and still running after it is no longer in the transaction
    open: bool = True


@dataclass
class Page:
    """One page of a keyset-paginated query; pass ``next`` as ``after`` for the next page."""

    items: list[dict[str, Any]]
    #: opaque cursor for the page after this one, None on the last page
    next: str | None

    @property
    def has_more(self) -> bool:
        return self.next is not None


class Database(ABC):
    """Base of every ``db`` adapter: a driver subclasses it, sets ``dialect`` and implements the
    ``DatabaseDriver`` primitives; everything users call is written here on them."""

    #: the dialect *instance* this adapter renders SQL with (``registry.dialect`` takes the class)
    dialect: Dialect
    #: the driver's parameter limit per statement (insert_many batches stay under it)
    max_params: ClassVar[int] = 32_000
    begin_sql: ClassVar[str] = "BEGIN"
    #: statements run before a batch of DDL, in its transaction
    ddl_preamble: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, alias: str) -> None:
        self.alias = alias
        self._tx: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
            f"mega-db-{alias}-{id(self)}", default=None
        )

    # -- what a driver implements (DatabaseDriver documents each member) --------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        adopt_old_names(cls)

    @abstractmethod
    async def connect(self) -> None:
        """Open the connections; see ``DatabaseDriver.connect``."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; see ``DatabaseDriver.close``."""

    @abstractmethod
    def acquire(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A connection for one statement or one transaction; see ``DatabaseDriver.acquire``."""

    @abstractmethod
    async def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        """Run a statement; the rows it matched. See ``DatabaseDriver.execute_on``."""

    @abstractmethod
    async def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
        """Rows as positional sequences. See ``DatabaseDriver.fetch_on``."""

    @abstractmethod
    async def fetch_named_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Batch:
        """Column names and rows. See ``DatabaseDriver.fetch_named_on``."""

    @abstractmethod
    async def insert_on(self, conn: Any, sql: str, params: Sequence[Any], rows: int) -> list[Any]:
        """Run an INSERT; generated keys in row order. See ``DatabaseDriver.insert_on``."""

    @abstractmethod
    def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[Batch]:
        """Batches through a server-side cursor. See ``DatabaseDriver.stream_on``."""

    # the old names, for callers, for one release (a subclass's own old names: __init_subclass__)
    _acquire: Any = OldName("acquire")
    _execute: Any = OldName("execute_on")
    _fetch: Any = OldName("fetch_on")
    _fetch_named: Any = OldName("fetch_named_on")
    _insert: Any = OldName("insert_on")
    _stream: Any = OldName("stream_on")

    @abstractmethod
    def map_error(self, exc: BaseException) -> DbError | None:
        """The ``DbError`` for a driver exception, or None if it is not a database error."""

    @abstractmethod
    async def introspect(self) -> dict[str, TableInfo]:
        """The live schema: every table of the database (or schema) by name."""

    @abstractmethod
    def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the database-wide lock ``name`` (one holder across every process), waiting at
        most ``timeout_s``; raises ``DbError("db.lock_timeout")`` when it stays taken."""

    def pool_stats(self) -> dict[str, int]:
        """``{"size": connections open, "idle": of them free}`` for metrics; ``{}`` when the
        driver does not say (override in a driver with a pool)."""
        return {}

    async def health(self) -> None:
        """Readiness check: raise if the database does not answer (override for a cheaper or
        deeper probe)."""
        await self.fetch_val("SELECT 1")

    # -- plumbing ---------------------------------------------------------------------------

    def not_connected(self) -> MegaLifecycleError:
        return MegaLifecycleError(
            "db.not_connected",
            f"db adapter {self.alias!r} is not connected; it connects when the app boots "
            "(or call `await db.connect()` yourself outside an app)",
            {"alias": self.alias},
        )

    def translate(self, exc: BaseException, sql: str) -> BaseException:
        if isinstance(exc, DbError):
            return exc
        mapped = self.map_error(exc)
        if mapped is not None:
            mapped.details.setdefault("alias", self.alias)
            return mapped
        if isinstance(exc, MegaLifecycleError | TypeError | ValueError):
            return exc
        return query_failed(exc, sql)

    _around: Callable[[Database, str], Any] | None = None

    @property
    def around_query(self) -> Callable[[Database, str], Any] | None:
        """Deprecated: implement the ``mega_db_wrap_query`` hook."""
        return self._around

    @around_query.setter
    def around_query(self, wrap: Callable[[Database, str], Any] | None) -> None:
        warnings.warn(
            "assigning database.around_query is deprecated and goes in the next release: "
            "implement the mega_db_wrap_query hook",
            DeprecationWarning,
            stacklevel=2,
        )
        self._wrap_queries(wrap)

    def _wrap_queries(self, wrap: Callable[[Database, str], Any] | None) -> None:
        """Run every statement inside ``wrap(database, sql)`` (the db plugin installs the
        ``mega_db_wrap_query`` implementations here at boot): it swaps in a wrapping ``_run``,
        so a database without one pays nothing per statement."""
        self._around = wrap
        if wrap is None:
            self.__dict__.pop("_run", None)
        else:
            self._run = self._run_around  # type: ignore[method-assign]

    async def _run_around(self, call: Callable[..., Any], sql: str, params: Sequence[Any]) -> Any:
        assert self._around is not None
        with self._around(self, sql):
            return await type(self)._run(self, call, sql, params)  # the class's, not ours

    def _current(self) -> Transaction | None:
        """The transaction open in this task's context, if any."""
        tx = self._tx.get()
        return tx if tx is not None and tx.open else None

    async def _run(self, call: Callable[..., Any], sql: str, params: Sequence[Any]) -> Any:
        tx = self._current()
        try:
            if tx is not None:
                return await call(tx.conn, sql, params)
            async with self.acquire() as conn:
                return await call(conn, sql, params)
        except DbError:
            raise
        except Exception as exc:
            raise self.translate(exc, sql) from exc

    @property
    def in_transaction(self) -> bool:
        return self._current() is not None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """Run the block in a transaction (nested: in a savepoint); an exception rolls it back.

        Every call the task makes on this adapter inside the block uses the transaction.
        Callbacks given to ``on_commit`` inside the block run after the COMMIT succeeded."""
        tx = self._current()
        if tx is not None:
            async with self._savepoint(tx):
                yield self
            return
        async with self.acquire() as conn:
            await self._control(conn, self.begin_sql)
            tx = Transaction(conn)
            token = self._tx.set(tx)
            try:
                yield self
            except BaseException:
                tx.open = False
                self._tx.reset(token)
                with contextlib.suppress(Exception):  # a lost connection cannot roll back
                    await self.execute_on(conn, "ROLLBACK", ())
                raise
            tx.open = False
            self._tx.reset(token)
            await self._control(conn, "COMMIT")
        # after the connection went back to the pool: a callback may use the database itself
        for callback in tx.after_commit:
            try:
                await callback()
            except Exception as exc:  # committed is committed: the caller's block succeeded
                get_logger(component="db", alias=self.alias).error(
                    "db.on_commit_failed", callback=repr(callback), error=repr(exc)
                )

    def on_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run ``await callback()`` once the transaction open in this task has committed —
        never after a rollback (a savepoint rolled back drops the callbacks registered in it).

        Callbacks run in registration order after the outermost COMMIT, outside the
        transaction; one that raises is logged and the others still run. Outside a
        transaction this raises ``db.no_transaction``: there is nothing to wait for.
        """
        tx = self._current()
        if tx is None:
            raise MegaLifecycleError(
                "db.no_transaction",
                f"on_commit() on db {self.alias!r} needs an open transaction; call it inside "
                "`async with db.transaction():`, or run the work now",
                {"alias": self.alias},
            )
        tx.after_commit.append(callback)

    async def _control(self, conn: Any, sql: str) -> None:
        """BEGIN / COMMIT, with the driver's errors mapped (a COMMIT may fail on a deferred
        constraint or a serialization conflict)."""
        try:
            await self.execute_on(conn, sql, ())
        except DbError:
            raise
        except Exception as exc:
            raise self.translate(exc, sql) from exc

    @contextlib.asynccontextmanager
    async def _savepoint(self, tx: Transaction) -> AsyncIterator[None]:
        if not self.dialect.capabilities.savepoints:
            from .dialect import unsupported

            raise unsupported(
                self.dialect.name, "nested transactions (savepoints)", "use one transaction"
            )
        tx.depth += 1
        name = self.dialect.quote(f"mega_sp_{tx.depth}")
        registered = len(tx.after_commit)
        try:
            await self._run(self.execute_on, f"SAVEPOINT {name}", ())
            try:
                yield
            except BaseException:
                del tx.after_commit[registered:]  # what the savepoint did never happened
                await self._run(self.execute_on, f"ROLLBACK TO SAVEPOINT {name}", ())
                await self._run(self.execute_on, f"RELEASE SAVEPOINT {name}", ())
                raise
            await self._run(self.execute_on, f"RELEASE SAVEPOINT {name}", ())
        finally:
            tx.depth -= 1

    # -- raw SQL (the driver's own placeholders: dialect.placeholder(n)) --------------------

    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement with parameters; the number of rows it changed."""
        return int(await self._run(self.execute_on, sql, params))

    async def fetch_all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        names, rows = await self._run(self.fetch_named_on, sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def fetch_one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self.fetch_all(sql, *params)
        return rows[0] if rows else None

    async def fetch_val(self, sql: str, *params: Any) -> Any:
        """The first column of the first row (None when there is no row)."""
        rows = await self._run(self.fetch_on, sql, params)
        return rows[0][0] if rows else None

    async def stream_sql(
        self, sql: str, *params: Any, batch: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        """Rows of a large result one at a time, read in batches through a server cursor."""
        async for names, rows in self._batches(sql, params, batch):
            for row in rows:
                yield dict(zip(names, row, strict=True))

    async def _batches(
        self, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[tuple[list[str], list[Sequence[Any]]]]:
        """``stream_on`` inside a transaction (server cursors need one), errors mapped."""
        async with self.transaction():
            tx = self._current()
            assert tx is not None
            try:
                async for names, rows in self.stream_on(tx.conn, sql, params, batch):
                    yield names, rows
            except DbError:
                raise
            except Exception as exc:
                raise self.translate(exc, sql) from exc

    # -- schema -----------------------------------------------------------------------------

    async def apply(
        self, ops: Iterable[Op], *, then: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Apply schema ops in order; in one transaction where the dialect has transactional
        DDL (a failure leaves nothing applied), one statement at a time elsewhere.

        ``then()`` runs after the statements — inside the same transaction where there is one
        (the migration runner records a migration that way: both happen or neither)."""
        statements = [*self.ddl_preamble, *(sql for op in ops for sql in self.dialect.ddl(op))]
        if self.dialect.capabilities.transactional_ddl:
            async with self.transaction():
                for sql in statements:
                    await self.execute(sql)
                if then is not None:
                    await then()
        else:
            for sql in statements:
                await self.execute(sql)
            if then is not None:
                await then()

    # -- CRUD -------------------------------------------------------------------------------

    async def get(self, model: type[Model], key: Any) -> dict[str, Any] | None:
        """The row whose primary key is ``key``, or None (also for an integer key its column
        cannot hold: no row has it, so no statement is sent to be refused)."""
        bounds = getattr(model.__primary_key__, "bounds", None)
        if bounds is not None and isinstance(key, int) and not bounds[0] <= key <= bounds[1]:
            return None
        plan = self.dialect.plan(model)
        rows = await self._run(
            self.fetch_on, self.dialect.select_by_key(model), (plan.encode(plan.pk, key),)
        )
        return plan.row(rows[0]) if rows else None

    async def find(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows matching every condition (and ``where``: field name -> value, equality)."""
        plan = self.dialect.plan(model)
        check_window(limit, offset)
        sql, params = self.dialect.select(
            model,
            self._where(model, conditions, where),
            self._order(model, order_by),
            limit,
            offset,
        )
        return plan.rows(await self._run(self.fetch_on, sql, params))

    async def first(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
    ) -> dict[str, Any] | None:
        rows = await self.find(model, *conditions, where=where, order_by=order_by, limit=1)
        return rows[0] if rows else None

    async def count(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
    ) -> int:
        sql, params = self.dialect.count(model, self._where(model, conditions, where))
        rows = await self._run(self.fetch_on, sql, params)
        return int(rows[0][0])

    async def exists(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
    ) -> bool:
        sql, params = self.dialect.exists(model, self._where(model, conditions, where))
        return bool(await self._run(self.fetch_on, sql, params))

    async def page(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> Page:
        """A page of rows by keyset pagination: stable under inserts, as fast at page 1 000
        as at page 1. The primary key is appended to ``order_by`` (ascending) as the
        tie-breaker; the order fields must not be nullable."""
        keys, fingerprint, where_all = self._keyset(
            model, conditions, where, order_by, limit, after
        )
        plan = self.dialect.plan(model)
        sql, params = self.dialect.select(model, where_all, keys, limit + 1, None)
        rows = plan.rows(await self._run(self.fetch_on, sql, params))
        return self._keyset_page(rows, limit, keys, fingerprint)

    def _keyset(
        self,
        model: type[Model],
        conditions: Sequence[Condition],
        where: Mapping[str, Any] | None,
        order_by: OrderSpec | Sequence[OrderSpec] | None,
        limit: int,
        after: str | None,
    ) -> tuple[list[Order], str, Condition | None]:
        """A keyset page's order keys (the primary key appended), its cursor fingerprint and
        its condition (the cursor's included): what every dialect's ``page`` runs."""
        check_window(limit, None)
        if limit < 1:
            raise invalid("invalid_limit", f"page limit={limit}; expected at least 1")
        keys = self._order(model, order_by)
        pk = model.__primary_key__
        if not any(k.field is pk for k in keys):
            keys = [*keys, Order(pk)]
        for key in keys:
            if key.field.nullable:
                raise invalid(
                    "nullable_keyset",
                    f"{model.__name__}.{key.field.name} is nullable and cannot order a keyset "
                    "page; order by non-nullable fields (the primary key is added for you)",
                    field=key.field.name,
                )
        fingerprint = _fingerprint(model, keys)
        where_all = self._where(model, conditions, where)
        if after is not None:
            after_cond = _keyset_condition(keys, _decode_cursor(after, keys, fingerprint))
            where_all = after_cond if where_all is None else where_all & after_cond
        return keys, fingerprint, where_all

    @staticmethod
    def _keyset_page(
        rows: list[dict[str, Any]], limit: int, keys: list[Order], fingerprint: str
    ) -> Page:
        """``limit + 1`` rows read for a page: the page, and the cursor when there is more."""
        if len(rows) <= limit:
            return Page(rows, None)
        rows = rows[:limit]
        last = rows[-1]
        return Page(rows, _encode_cursor([last[k.field.name] for k in keys], fingerprint))

    async def stream(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        order_by: OrderSpec | Sequence[OrderSpec] | None = None,
        batch: int = 500,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching row, read through a server-side cursor ``batch`` rows at a time."""
        plan = self.dialect.plan(model)
        sql, params = self.dialect.select(
            model, self._where(model, conditions, where), self._order(model, order_by), None, None
        )
        async for _, rows in self._batches(sql, params, batch):
            for row in rows:
                yield plan.row(row)

    async def insert(self, model: type[Model], values: Mapping[str, Any]) -> Any:
        """Insert one row; returns its primary key (generated or given)."""
        plan = self.dialect.plan(model)
        row = self._with_defaults(plan, values)
        columns = tuple(row)
        params = [plan.encode(c, row[c]) for c in columns]
        generated = plan.autoincrement and plan.pk not in row
        sql = self.dialect.insert(model, columns, 1, returning=generated)
        if generated:
            return (await self._run(_insert_one(self), sql, params))[0]
        await self._run(self.execute_on, sql, params)
        return row[plan.pk]

    async def insert_many(self, model: type[Model], rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Insert rows in batches, all or none (inside a transaction); returns their keys."""
        plan = self.dialect.plan(model)
        prepared = [self._with_defaults(plan, row) for row in rows]
        if not prepared:
            return []
        columns = tuple(dict.fromkeys(c for row in prepared for c in row))
        generated = plan.autoincrement and plan.pk not in columns
        encoders = [(c, plan.to_db.get(c)) for c in columns]
        per_statement = max(1, min(INSERT_BATCH, self.max_params // max(1, len(columns))))
        keys: list[Any] = []
        async with self.transaction():
            for start in range(0, len(prepared), per_statement):
                chunk = prepared[start : start + per_statement]
                params = [
                    value if convert is None or value is None else convert(value)
                    for row in chunk
                    for c, convert in encoders
                    for value in (row.get(c),)
                ]
                sql = self.dialect.insert(model, columns, len(chunk), returning=generated)
                if generated:
                    keys.extend(await self._run(_insert_n(self, len(chunk)), sql, params))
                else:
                    await self._run(self.execute_on, sql, params)
                    keys.extend(row.get(plan.pk) for row in chunk)
        return keys

    async def update(
        self,
        model: type[Model],
        values: Mapping[str, Any],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        all_rows: bool = False,
    ) -> int:
        """Set ``values`` on every matching row; the number of rows changed. Without a
        condition it refuses, unless ``all_rows=True``."""
        plan = self.dialect.plan(model)
        check_columns(plan, values)
        if not values:
            raise invalid("empty_update", f"update of {model.__name__} with no values to set")
        changes = dict(values)
        if plan.auto_now:
            now = dt.datetime.now(dt.UTC)
            for name in plan.auto_now:
                changes.setdefault(name, now)
        condition = self._where(model, conditions, where)
        check_filtered(model, "update", condition, all_rows)
        sql, params = self.dialect.update(model, changes, condition)
        return int(await self._run(self.execute_on, sql, params))

    async def delete(
        self,
        model: type[Model],
        *conditions: Condition,
        where: Mapping[str, Any] | None = None,
        all_rows: bool = False,
    ) -> int:
        """Delete every matching row; the number deleted. Without a condition it refuses,
        unless ``all_rows=True``."""
        condition = self._where(model, conditions, where)
        check_filtered(model, "delete", condition, all_rows)
        sql, params = self.dialect.delete(model, condition)
        return int(await self._run(self.execute_on, sql, params))

    async def upsert(
        self,
        model: type[Model],
        values: Mapping[str, Any],
        *,
        conflict: Sequence[str | Field],
        update: Sequence[str | Field] | None = None,
    ) -> None:
        """Insert a row or, when it collides on the unique ``conflict`` columns, update the
        ``update`` columns of the existing row (default: every given column but the conflict
        ones; an empty sequence keeps the existing row as is)."""
        plan = self.dialect.plan(model)
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
        columns = tuple(row)
        sql = self.dialect.upsert(model, columns, targets, changed)
        await self._run(self.execute_on, sql, [plan.encode(c, row[c]) for c in columns])

    # -- query pieces -----------------------------------------------------------------------

    def _with_defaults(self, plan: ModelPlan, values: Mapping[str, Any]) -> dict[str, Any]:
        check_columns(plan, values)
        row = dict(values)
        for name, field in plan.defaulted:
            if name not in row:
                row[name] = field.make_default()
        return row

    def _where(
        self,
        model: type[Model],
        conditions: Sequence[Condition],
        where: Mapping[str, Any] | None,
    ) -> Condition | None:
        if not where and len(conditions) == 1 and isinstance(conditions[0], Condition):
            return conditions[0]  # the common case, without building a list
        items = list(conditions)
        for condition in items:
            if not isinstance(condition, Condition):
                raise invalid(
                    "invalid_condition",
                    f"{condition!r} is not a query condition; build one from a field "
                    f"({model.__name__}.<field> == value), or pass where={{'field': value}}",
                    condition=repr(condition),
                )
        if where:
            for name, value in where.items():
                field = model.field(name)
                items.append(IsNull(field) if value is None else Compare(field, "eq", value))
        return all_of(items)

    def _order(
        self, model: type[Model], order_by: OrderSpec | Sequence[OrderSpec] | None
    ) -> list[Order]:
        if order_by is None:
            return []
        # "name" / ("a", "-b") resolve the same way every time: once per model and spec
        cacheable = isinstance(order_by, str) or (
            isinstance(order_by, tuple) and all(isinstance(s, str) for s in order_by)
        )
        if cacheable:
            cache = self.dialect.plan(model).orders
            found = cache.get(order_by)
            if found is not None:
                return found
        specs = list(order_by) if isinstance(order_by, list | tuple) else [order_by]
        keys = []
        for spec in specs:
            if isinstance(spec, Order):
                keys.append(spec)
            elif isinstance(spec, str):
                descending = spec.startswith("-")
                keys.append(Order(model.field(spec.lstrip("-")), descending))
            elif getattr(spec, "model", None) is not None:  # a model's field
                keys.append(Order(cast("Field", spec)))
            else:
                raise invalid(
                    "invalid_order",
                    f"order_by {spec!r}; expected a field, field.desc(), or 'name' / '-name'",
                    order_by=repr(spec),
                )
        if cacheable and len(cache) < 256:
            cache[order_by] = keys
        return keys


def _insert_one(db: Database) -> Callable[..., Any]:
    async def call(conn: Any, sql: str, params: Sequence[Any]) -> list[Any]:
        return await db.insert_on(conn, sql, params, 1)

    return call


def _insert_n(db: Database, rows: int) -> Callable[..., Any]:
    async def call(conn: Any, sql: str, params: Sequence[Any]) -> list[Any]:
        return await db.insert_on(conn, sql, params, rows)

    return call


def field_name(model: type[Model], column: Any) -> str:
    """The name of ``model``'s field ``column`` (a name or the field), checked: an unknown one
    raises ``db.unknown_field``."""
    return model.field(column if isinstance(column, str) else column.name).name


def check_columns(plan: ModelPlan, values: Mapping[str, Any]) -> None:
    """Refuse ``values`` naming a column the model does not have (``db.unknown_field``)."""
    if not plan.column_set.issuperset(values):
        unknown = sorted(set(values) - plan.column_set)
        raise invalid(
            "unknown_field",
            f"model {plan.model.__name__} has no field(s) {', '.join(map(repr, unknown))}; its "
            f"fields: {', '.join(plan.columns)}",
            model=plan.model.__name__,
            fields=unknown,
        )


def check_window(limit: int | None, offset: int | None) -> None:
    """Refuse a ``limit`` or ``offset`` that is not an int >= 0 (``db.invalid_limit`` /
    ``db.invalid_offset``)."""
    if (limit is None or (type(limit) is int and limit >= 0)) and (
        offset is None or (type(offset) is int and offset >= 0)
    ):
        return  # the common case, without building the loop below
    for label, value in (("limit", limit), ("offset", offset)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise invalid(f"invalid_{label}", f"{label}={value!r}; expected an int >= 0")


def check_filtered(
    model: type[Model], what: str, condition: Condition | None, all_rows: bool
) -> None:
    """Refuse an ``update`` / ``delete`` (``what``) without a condition unless ``all_rows``
    (``db.unfiltered_write``)."""
    if condition is None and not all_rows:
        raise invalid(
            "unfiltered_write",
            f"{what} of {model.__name__} without a condition would touch every row; pass a "
            f"condition, or all_rows=True if that is what you mean",
            model=model.__name__,
        )


# -- keyset cursors ----------------------------------------------------------------------------


def _fingerprint(model: type[Model], keys: list[Order]) -> str:
    spec = (
        model.__table__
        + ":"
        + ",".join(f"{k.field.name}{'-' if k.descending else '+'}" for k in keys)
    )
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _encode_cursor(values: list[Any], fingerprint: str) -> str:
    raw = json.dumps({"k": fingerprint, "v": [_jsonable(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_PARSE: dict[str, Callable[[Any], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
}


def _decode_cursor(cursor: str, keys: list[Order], fingerprint: str) -> list[Any]:
    def bad(reason: str) -> DbError:
        return invalid(
            "invalid_cursor",
            f"page cursor {cursor[:40]!r} is not valid for this query ({reason}); start from "
            "the first page",
            reason=reason,
        )

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad("not a cursor mega issued") from None
    if not isinstance(data, dict) or data.get("k") != fingerprint:
        raise bad("it belongs to another order or model")
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(keys):
        raise bad("wrong number of values")
    parsed = []
    for key, value in zip(keys, values, strict=True):
        parse = _PARSE.get(key.field.kind)
        try:
            parsed.append(parse(value) if parse is not None else value)
        except (ValueError, TypeError, decimal.InvalidOperation):
            raise bad(f"bad value for {key.field.name}") from None
    return parsed


def _keyset_condition(keys: list[Order], values: list[Any]) -> Condition:
    """Rows after ``values`` in ``keys`` order: (a > x) OR (a = x AND b > y) OR …"""
    branches: list[Condition] = []
    for i, key in enumerate(keys):
        parts: list[Condition] = [
            Compare(k.field, "eq", v) for k, v in zip(keys[:i], values[:i], strict=True)
        ]
        parts.append(Compare(key.field, "lt" if key.descending else "gt", values[i]))
        branch = all_of(parts)
        assert branch is not None
        branches.append(branch)
    return branches[0] if len(branches) == 1 else Or(tuple(branches))
