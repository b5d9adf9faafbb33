"""Database errors: what drivers' exceptions become, with the constraint and column named.

Every driver maps its own exceptions to these (see ``Database.map_error``), so application code
and HTTP responses see one set of codes whatever the dialect:

=========================  ===============================  ======
code                       raised when                      status
=========================  ===============================  ======
db.unique_violation        a unique key or primary key      409
db.foreign_key_violation   a row references a missing one   409
db.not_null_violation      a required column got NULL       422
db.check_violation         a CHECK constraint failed        422
db.invalid_value           a value its column cannot hold   422
                           (an integer out of range, a NUL
                           in text on PostgreSQL, too long)
db.retryable               deadlock, serialization failure  503
db.connection_lost         the server went away             503
db.query_failed            anything else the server refused 500
=========================  ===============================  ======
"""

from __future__ import annotations

from typing import Any

from mega import MegaError


class DbError(MegaError):
    """Base of every error the db layer raises."""

    #: True when running the same unit of work again may succeed (deadlock, lost connection)
    retryable: bool = False


class IntegrityViolation(DbError):
    """A constraint refused the write; ``details`` name the constraint, table and column."""

    http_status = 409


class InvalidValue(DbError):
    """The server (or the driver, binding it) refused a value its column type cannot hold."""

    http_status = 422


class RetryableDbError(DbError):
    """Deadlock or serialization failure: the transaction was rolled back; run it again."""

    http_status = 503
    retryable = True


class ConnectionLost(RetryableDbError):
    """The connection to the server broke; the next call reconnects."""


class QueryError(DbError):
    """The server refused a statement for another reason (syntax, missing table, …)."""


class InvalidQuery(DbError):
    """A query built through the CRUD API names something the model does not have."""

    http_status = 400


def integrity(
    kind: str, *, constraint: str | None, table: str | None, column: str | None, message: str
) -> IntegrityViolation:
    """The error for a constraint ``kind``: unique, foreign_key, not_null or check."""
    named = ", ".join(
        f"{label} {value!r}"
        for label, value in (("constraint", constraint), ("table", table), ("column", column))
        if value
    )
    error = IntegrityViolation(
        f"db.{kind}_violation",
        f"{kind.replace('_', ' ')} violation" + (f" ({named})" if named else "") + f": {message}",
        {"constraint": constraint, "table": table, "column": column},
    )
    if kind in ("not_null", "check"):
        error.http_status = 422
    return error


def invalid_value(message: str, *, column: str | None = None) -> InvalidValue:
    """A value out of its column type's range or repertoire: bad input, not a server fault.
    The driver's reason is kept; the statement is not (it may name columns a client must not
    see)."""
    where = f" (column {column!r})" if column else ""
    return InvalidValue(
        "db.invalid_value",
        f"a value does not fit its column{where}: {message}",
        {"column": column, "reason": message},
    )


def retryable(reason: str, message: str) -> RetryableDbError:
    return RetryableDbError(
        "db.retryable",
        f"{reason}: the transaction was rolled back and may succeed if run again ({message})",
        {"reason": reason, "retryable": True},
    )


def connection_lost(alias: str, exc: BaseException) -> ConnectionLost:
    return ConnectionLost(
        "db.connection_lost",
        f"the connection of db adapter {alias!r} was lost ({type(exc).__name__}: {exc}); "
        "the next call reconnects",
        {"alias": alias, "retryable": True},
    )


def query_failed(exc: BaseException, sql: str) -> QueryError:
    return QueryError(
        "db.query_failed",
        f"the database refused the statement: {type(exc).__name__}: {exc}",
        {"sql": sql[:500]},
    )


def invalid(code: str, message: str, **details: Any) -> InvalidQuery:
    return InvalidQuery(f"db.{code}", message, details)


def lock_timeout(name: str, timeout_s: float) -> DbError:
    return DbError(
        "db.lock_timeout",
        f"the database lock {name!r} stayed taken for {timeout_s:g} s (another process is "
        "migrating); try again when it is done, or raise the timeout",
        {"name": name, "timeout_s": timeout_s},
    )
