"""Test helpers of the ``db`` plugin: for an app's tests, and for a dialect's conformance run.

- ``apply_migrations(app)`` migrates a booted app's scratch database, as ``mega migrate up``
  does (``mega.testing.apply_migrations`` is the same function);
- ``connected_databases(build)`` makes the ``db_factory`` fixture the dialect conformance kit
  (``mega.plugins.db.dialect_suite``) asks a driver's test module for;
- ``case`` puts a kit case under a timeout that names the step it hung in (``KitTimeout``);
  ``needs(db, flag)`` skips the rest of a case a capability flag rules out.

Nothing here imports pytest: an app's conftest may use ``apply_migrations`` without the kit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import linecache
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from mega import MegaConfigError

from .database import Database

if TYPE_CHECKING:
    from mega import App

#: ``db_factory``: each call returns a new, connected adapter on the test's database
DatabaseFactory = Callable[[], Awaitable[Database]]
Case = TypeVar("Case", bound=Callable[..., Awaitable[None]])

#: seconds a kit case may run (the ``kit_timeout`` fixture's default)
KIT_TIMEOUT_S = 30.0
#: seconds ``connected_databases`` gives each adapter's ``close()``
CLOSE_TIMEOUT_S = 10.0


async def apply_migrations(app: App, alias: str = "default") -> list[str]:
    """Apply the project's pending migrations to a booted app's ``db`` adapter ``alias``, as
    ``mega migrate up`` would (under the migration lock); returns the names applied.

    For tests that boot the project against a scratch database. Needs the ``db`` plugin.
    """
    if "db" not in [p.name for p in app.plugins]:
        raise MegaConfigError(
            "plugin.not_enabled",
            "apply_migrations needs the 'db' plugin: add it to [app].plugins",
            {"plugin": "db"},
        )
    from .migrations.runner import Migrator, load_migrations

    migrator = Migrator(app.adapters.get("db", alias), load_migrations(app.config.root))
    return list(await migrator.up())


@contextlib.asynccontextmanager
async def connected_databases(
    build: Callable[[], Database], *, close_timeout_s: float = CLOSE_TIMEOUT_S
) -> AsyncIterator[DatabaseFactory]:
    """Yield ``make``: each call builds a database adapter with ``build()`` and connects it;
    every one made is closed when the block ends. A ``close()`` still running after
    ``close_timeout_s`` fails with ``KitTimeout`` naming the adapter (the others are still
    closed)."""
    made: list[Database] = []

    async def make() -> Database:
        db = build()
        await db.connect()
        made.append(db)
        return db

    try:
        yield make
    finally:
        stuck: list[str] = []
        for db in made:
            try:
                async with asyncio.timeout(close_timeout_s):
                    await db.close()
            except TimeoutError:
                stuck.append(f"{type(db).__name__}(alias={db.alias!r})")
        if stuck:
            raise KitTimeout(
                f"close() of {', '.join(stuck)} did not return within {close_timeout_s:g} s: "
                "close must end every connection and thread connect started "
                "(ConnectionPool.close() closes a pool's connections)"
            )


class KitTimeout(AssertionError):
    """A kit case (or an adapter's ``close()``) ran past its time; the message names the step
    it was waiting in."""


def case(test: Case) -> Case:
    """A kit case: ``test`` runs under ``asyncio.timeout(kit_timeout)``; past it the case fails
    with ``KitTimeout`` naming the line of the case and the driver code it was waiting in.

    The wrapper asks pytest for the ``kit_timeout`` fixture besides ``test``'s own."""
    signature = inspect.signature(test)
    own = "kit_timeout" in signature.parameters
    parameters = list(signature.parameters.values())
    if not own:
        parameters.append(
            inspect.Parameter("kit_timeout", inspect.Parameter.KEYWORD_ONLY, annotation=float)
        )

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        limit = kwargs["kit_timeout"] if own else kwargs.pop("kit_timeout")
        timeout = asyncio.timeout(limit)
        try:
            async with timeout:
                await test(*args, **kwargs)
        except TimeoutError as exc:
            if not timeout.expired():
                raise  # the case's own TimeoutError, not ours
            raise KitTimeout(hung_at(test, limit, exc)) from exc

    # pytest reads the fixtures a test wants from its signature
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def hung_at(test: Callable[..., Any], limit: float, exc: BaseException) -> str:
    """Where a case was waiting when its time ran out: its own line (the step), and the frames
    below it outside the standard library (the driver's)."""
    frames: list[tuple[str, int, str]] = []
    tb: TracebackType | None = (exc.__context__ or exc).__traceback__
    step = "an unknown step"
    while tb is not None:
        code = tb.tb_frame.f_code
        if code is test.__code__:
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            step = f"{os.path.basename(code.co_filename)}:{tb.tb_lineno} `{line}`"
            frames.clear()
        elif not _stdlib(code.co_filename):
            frames.append((code.co_filename, tb.tb_lineno, code.co_qualname))
        tb = tb.tb_next
    inside = ", in ".join(
        f"{name} ({os.path.basename(path)}:{line})" for path, line, name in reversed(frames[-3:])
    )
    return (
        f"kit case {test.__name__} did not finish within {limit:g} s: it was waiting at {step}"
        + (f", in {inside}" if inside else "")
        + ". A primitive that never returns (a lock never released, a pool without a free "
        "connection, a missing close) hangs there; if the server is only slow, override the "
        "kit_timeout fixture in the driver's test module"
    )


_STDLIB = os.path.dirname(contextlib.__file__) + os.sep


def _stdlib(path: str) -> bool:
    return path.startswith(_STDLIB) and "-packages" not in path


def needs(db: Database, flag: str) -> None:
    """Skip the rest of a case the dialect's capabilities rule out, with its reason."""
    capabilities = db.dialect.capabilities
    if not getattr(capabilities, flag):
        import pytest

        pytest.skip(f"{db.dialect.name}: {flag} is off: {capabilities.reason(flag)}")


__all__ = [
    "CLOSE_TIMEOUT_S",
    "KIT_TIMEOUT_S",
    "DatabaseFactory",
    "KitTimeout",
    "apply_migrations",
    "case",
    "connected_databases",
    "hung_at",
    "needs",
]
