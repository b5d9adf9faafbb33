"""``DatabaseDriver``: the contract a dialect plugin's ``db`` adapter implements.

A driver subclasses ``Database``, which writes everything users call (CRUD, pages, streaming,
transactions and savepoints, ``apply``, raw SQL) once, on the members below. docs/dialects.md
walks through them with the reference dialect, ``mega.plugins.sqlite``.

The primitives had underscore names before (``_acquire``, ``_execute``…). A subclass that still
defines only an old name keeps working for one release: ``Database`` maps it to the public name
and warns (``DeprecationWarning``) when the class is created.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .dialect import Dialect
    from .errors import DbError
    from .schema import TableInfo

#: one row as the driver returns it: values by position, in the statement's column order
Row = Sequence[Any]
#: ``(column names, rows)``: what ``fetch_named_on`` returns and ``stream_on`` yields
Batch = tuple[list[str], list[Row]]


@runtime_checkable
class DatabaseDriver(Protocol):
    """What a ``db`` adapter driver provides; ``Database`` builds the CRUD API on it.

    **The connection rules.** ``conn`` is whatever ``acquire()`` yields (an aiosqlite
    connection, an asyncpg connection, a cursor…); mega never looks inside it, it only hands it
    back to the primitives. It runs in autocommit mode: ``Database`` sends ``BEGIN`` (or the
    class's ``begin_sql``), ``COMMIT``, ``ROLLBACK``, ``SAVEPOINT …`` itself, through
    ``execute_on``. ``params`` are positional and their placeholders are the dialect's
    (``dialect.placeholder(n)``: ``?``, ``$1``, ``%s``); values arrive already converted by the
    dialect's ``converters`` (see ``Dialect``) and rows go back raw, converted by the same.

    **Errors.** A primitive raises the driver's own exceptions; ``Database`` maps them through
    ``map_error``. Once closed, ``acquire()`` raises ``self.not_connected()``
    (``db.not_connected``).
    """

    #: the adapter's name (``[adapters.db.<alias>]``), given to ``__init__(alias=...)``
    alias: str

    @property
    def dialect(self) -> Dialect:
        """This adapter's dialect: an *instance* of the plugin's ``Dialect`` subclass (a class
        attribute ``dialect = MyDialect()``, or set in ``__init__``/``connect`` when it depends
        on the server). ``registry.dialect(name, MyDialect)`` registers the *class*, for tools
        that render SQL without a connection (migrations)."""
        ...

    async def connect(self) -> None:
        """Open the connections (start a ``ConnectionPool``, or the driver's own pool) and
        return once a statement can run. Called once, when the app boots."""
        ...

    async def close(self) -> None:
        """Close every connection (``ConnectionPool.close()``) and whatever else ``connect``
        started (threads, executors): nothing may keep running. Afterwards ``acquire()``
        raises ``db.not_connected``. A second call does nothing."""
        ...

    def acquire(self) -> AbstractAsyncContextManager[Any]:
        """A connection for one statement or one whole transaction:
        ``async with db.acquire() as conn``. Waits for a free one when all are leased; raises
        ``self.not_connected()`` before ``connect`` or after ``close``."""
        ...

    def execute_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Awaitable[int]:
        """Run one statement on ``conn``; the number of rows it *matched* (an UPDATE setting a
        value a row already has still counts that row; 0 for DDL and statements without a
        count). Also runs ``BEGIN`` / ``COMMIT`` / ``SAVEPOINT`` and DDL."""
        ...

    def fetch_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Awaitable[list[Row]]:
        """Run a query on ``conn``; every row, each a sequence of values by position."""
        ...

    def fetch_named_on(self, conn: Any, sql: str, params: Sequence[Any]) -> Awaitable[Batch]:
        """Run a query on ``conn``; ``(column names, rows)`` — for raw SQL, whose columns only
        the server knows (``db.fetch_all``). Names are ``[]`` when there is no row and the
        driver cannot tell them."""
        ...

    def insert_on(
        self, conn: Any, sql: str, params: Sequence[Any], rows: int
    ) -> Awaitable[list[Any]]:
        """Run an INSERT of ``rows`` rows (one statement, ``dialect.insert(...)``, with
        ``RETURNING <key>`` when ``capabilities.returning``) and return the generated keys, one
        per row, **in row order** (``RETURNING`` does not promise an order: sort the keys when
        they grow with insertion; without ``RETURNING``, derive them, e.g. MariaDB's first id
        plus ``auto_increment_increment`` steps)."""
        ...

    def stream_on(
        self, conn: Any, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[Batch]:
        """Yield ``(column names, rows)`` batches of at most ``batch`` rows, read through a
        server-side cursor (never the whole result in memory). Always called inside a
        transaction on its connection: servers keep cursors in one."""
        ...

    def map_error(self, exc: BaseException) -> DbError | None:
        """The ``DbError`` for a driver exception, built with ``integrity(kind, ...)``
        (``unique``, ``foreign_key``, ``not_null``, ``check``: name the constraint or column
        when the server says), ``invalid_value(...)`` (a value its column cannot hold),
        ``retryable(...)`` (deadlock, serialization failure, lock wait) or
        ``connection_lost(alias, exc)``; None for anything else (it becomes
        ``db.query_failed``, e.g. a missing table)."""
        ...

    async def introspect(self) -> dict[str, TableInfo]:
        """The live schema, every table by name (``TableInfo``): columns in declared order with
        the dialect's own lower-case type names, a primary key column never nullable; indexes
        without the primary key's, **a UNIQUE constraint reported as a unique ``IndexInfo``**
        (named ``constraint_name("uq", table, columns)`` where the server keeps no name);
        foreign keys with ``on_delete`` in lower case (``"cascade"``, ``"set null"``,
        ``"restrict"``, ``"no action"``); partition names for a partitioned table."""
        ...

    def migration_lock(
        self, name: str = "mega-migrations", *, timeout_s: float = 30.0
    ) -> AbstractAsyncContextManager[None]:
        """Hold the database-wide lock ``name``: one holder across processes *and* across
        adapters of one process (the kit takes it from two adapters), released if the holder
        dies. Waits at most ``timeout_s``, then raises ``lock_timeout(name, timeout_s)``
        (``db.lock_timeout``)."""
        ...


#: the primitives' names before they were public: old name -> public name
RENAMED: dict[str, str] = {
    "_acquire": "acquire",
    "_execute": "execute_on",
    "_fetch": "fetch_on",
    "_fetch_named": "fetch_named_on",
    "_insert": "insert_on",
    "_stream": "stream_on",
}


def adopt_old_names(cls: type) -> None:
    """Map a driver class's old primitive names to the public ones, warning once per name.

    Only where the class itself defines the old name and not the public one; a class that
    defines both keeps both as they are."""
    for old, new in RENAMED.items():
        own = cls.__dict__.get(old)
        if own is None or isinstance(own, OldName) or new in cls.__dict__:
            continue
        warnings.warn(
            f"{cls.__module__}.{cls.__qualname__}.{old} is the old name of the dialect "
            f"primitive {new}(); rename it {new} (docs/dialects.md). The old name is mapped for "
            "this release only",
            DeprecationWarning,
            stacklevel=4,
        )
        setattr(cls, new, own)


class OldName:
    """A deprecated alias on ``Database``: reading ``db._execute`` warns and gives
    ``db.execute_on``."""

    __slots__ = ("new", "old")

    def __init__(self, new: str) -> None:
        self.new = new
        self.old = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        warnings.warn(
            f"Database.{self.old} is the old name of {self.new}(); call {self.new} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(obj if obj is not None else owner, self.new)
