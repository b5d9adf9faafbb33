"""Applying migrations: ``up``, ``down``, ``status``, under the database's migration lock.

The table ``mega_migrations`` records each migration's name, the sha256 of its file, when it
was applied, how long it took, and how many of its ops ran. An applied migration whose file
changed is refused (``migrate.checksum_mismatch``).

Where the dialect has transactional DDL a migration runs in one transaction together with its
record: it is applied completely or not at all. Elsewhere (MariaDB commits each DDL statement)
the record is updated after every op, so a failure leaves ``ops_done`` saying exactly what ran:
``up`` resumes at the failed op, ``down`` undoes the ops that ran.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from mega import MegaConfigError, MegaError

from ..database import Database
from ..fields import DateTime, Int, String
from ..model import Model
from ..schema import CreateTable
from .ops import Migration

TABLE = "mega_migrations"


class MigrationRecord(Model):
    __table__ = TABLE
    name = String(255, primary_key=True)
    checksum = String(64)
    applied_at = DateTime()
    duration_ms = Int()
    ops_done = Int()
    ops_total = Int()


class MigrateError(MegaError):
    """A migration failed or cannot run; ``details`` name the migration (and the op)."""


class Status(NamedTuple):
    name: str
    #: applied, pending, partial (some ops ran), edited (file changed since), missing (applied,
    #: file gone)
    state: str
    applied_at: dt.datetime | None
    ops_done: int
    ops_total: int


def load_migrations(root: Path | None) -> list[Migration]:
    """Every ``apps/*/migrations/*.py`` in name (= timestamp) order, with name and checksum."""
    if root is None:
        return []
    found = []
    for path in sorted((root / "apps").glob("*/migrations/*.py"), key=lambda p: p.name):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"mega_migration_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise MegaConfigError(
                "migrate.import_failed",
                f"migration {path.relative_to(root)} failed to load: {type(exc).__name__}: {exc}",
                {"path": str(path)},
            ) from exc
        migration = getattr(module, "migration", None)
        if not isinstance(migration, Migration):
            raise MegaConfigError(
                "migrate.invalid_file",
                f"{path.relative_to(root)} must define `migration = Migration(up=[...], "
                "down=[...])`",
                {"path": str(path)},
            )
        migration.name = path.stem
        migration.checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found.append(migration)
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise MegaConfigError(
            "migrate.duplicate_name", f"two migration files are named {dup}", {"names": dup}
        )
    return found


Progress = Callable[[str, int, int], None]


class Migrator:
    """Migrations of one database; every run holds the database's migration lock."""

    def __init__(
        self, db: Database, migrations: list[Migration], *, lock_timeout_s: float = 60.0
    ) -> None:
        self.db = db
        self.migrations = migrations
        self.by_name = {m.name: m for m in migrations}
        self.lock_timeout_s = lock_timeout_s

    async def _records(self) -> dict[str, dict[str, Any]]:
        if TABLE not in await self.db.introspect():
            await self.db.apply([CreateTable(MigrationRecord.table_def())])
        return {r["name"]: r for r in await self.db.find(MigrationRecord)}

    async def status(self) -> list[Status]:
        async with self.db.migration_lock(timeout_s=self.lock_timeout_s):
            records = await self._records()
        return self._status(records)

    def _status(self, records: dict[str, dict[str, Any]]) -> list[Status]:
        out = []
        for m in self.migrations:
            record = records.get(m.name)
            if record is None:
                out.append(Status(m.name, "pending", None, 0, len(m.up)))
                continue
            if record["checksum"] != m.checksum:
                state = "edited"
            elif record["ops_done"] < record["ops_total"]:
                state = "partial"
            else:
                state = "applied"
            out.append(Status(m.name, state, record["applied_at"], record["ops_done"],
                              record["ops_total"]))  # fmt: skip
        known = set(self.by_name)
        for name, record in sorted(records.items()):
            if name not in known:
                out.append(Status(name, "missing", record["applied_at"], record["ops_done"],
                                  record["ops_total"]))  # fmt: skip
        return out

    def _refuse_edited(
        self, records: dict[str, dict[str, Any]], *, allow_partial: bool = False
    ) -> None:
        for m in self.migrations:
            record = records.get(m.name)
            if allow_partial and record and record["ops_done"] < record["ops_total"]:
                continue  # undoing a partial migration after fixing its file is the way out
            if record is not None and record["checksum"] != m.checksum:
                raise MigrateError(
                    "migrate.checksum_mismatch",
                    f"migration {m.name} was applied from a file with sha256 "
                    f"{record['checksum']}, but the file now has {m.checksum}: an applied "
                    "migration must not change; restore it and write a new migration",
                    {"migration": m.name, "expected": record["checksum"], "actual": m.checksum},
                )

    async def up(
        self,
        to: str | None = None,
        progress: Progress | None = None,
        planned: Callable[[list[str]], None] | None = None,
    ) -> list[str]:
        """Apply pending (and resume partial) migrations in order, up to and including ``to``.

        ``planned`` is told the names about to be applied once the lock is held (a progress
        bar's length); ``progress`` each migration's ops as they run.
        """
        if to is not None and to not in self.by_name:
            raise MegaConfigError(
                "migrate.unknown",
                f"no migration {to!r}; known: {', '.join(self.by_name) or '(none)'}",
                {"migration": to},
            )
        applied = []
        async with self.db.migration_lock(timeout_s=self.lock_timeout_s):
            records = await self._records()
            self._refuse_edited(records)
            pending = []
            for m in self.migrations:
                record = records.get(m.name)
                if record is None or record["ops_done"] < record["ops_total"]:
                    pending.append(m)
                if m.name == to:
                    break
            if planned is not None:
                planned([m.name for m in pending])
            for m in pending:
                await self._apply(m, records.get(m.name), progress)
                applied.append(m.name)
        return applied

    async def _apply(
        self, m: Migration, record: dict[str, Any] | None, progress: Progress | None
    ) -> None:
        db, total = self.db, len(m.up)
        started = time.perf_counter()

        def values(done: int) -> dict[str, Any]:
            return {
                "checksum": m.checksum,
                "applied_at": dt.datetime.now(dt.UTC),
                "duration_ms": int((time.perf_counter() - started) * 1000),
                "ops_done": done,
                "ops_total": total,
            }

        if db.dialect.capabilities.transactional_ddl and m.transactional and record is None:

            async def record_it() -> None:
                await db.insert(MigrationRecord, {"name": m.name, **values(total)})

            try:
                await db.apply(m.up, then=record_it)
            except Exception as exc:
                raise self._failed(m, None, exc, "nothing of it was applied") from exc
            if progress:
                progress(m.name, total, total)
            return
        done = record["ops_done"] if record else 0
        if record is None:
            await db.insert(MigrationRecord, {"name": m.name, **values(0)})
        for index in range(done, total):
            try:
                await db.apply([m.up[index]])
            except Exception as exc:
                raise self._failed(
                    m, index, exc, f"ops 1-{index} of {total} are applied (recorded); fix the "
                    f"cause and run `up` again to resume at op {index + 1}, or `down` to undo"
                ) from exc  # fmt: skip
            await db.update(MigrationRecord, values(index + 1), MigrationRecord.name == m.name)
            if progress:
                progress(m.name, index + 1, total)

    def _failed(self, m: Migration, index: int | None, exc: Exception, state: str) -> MigrateError:
        where = "" if index is None else f" at op {index + 1} ({type(m.up[index]).__name__})"
        return MigrateError(
            "migrate.failed",
            f"migration {m.name} failed{where}: {exc}; {state}",
            {
                "migration": m.name,
                "op": None if index is None else index + 1,
                "cause": repr(exc),
            },
        )

    async def down(self, steps: int = 1, progress: Progress | None = None) -> list[str]:
        """Undo the last ``steps`` applied (or partial) migrations, newest first."""
        undone = []
        async with self.db.migration_lock(timeout_s=self.lock_timeout_s):
            records = await self._records()
            self._refuse_edited(records, allow_partial=True)
            applied = [m for m in self.migrations if m.name in records]
            for m in list(reversed(applied))[:steps]:
                await self._revert(m, records[m.name], progress)
                undone.append(m.name)
        return undone

    async def _revert(
        self, m: Migration, record: dict[str, Any], progress: Progress | None
    ) -> None:
        db = self.db
        # a partial migration ran its first ops_done ops: undo just those (the generated down
        # list is the inverse of up, last op first)
        ops = m.down[len(m.down) - record["ops_done"] :] if len(m.down) == len(m.up) else m.down
        condition = MigrationRecord.name == m.name

        async def forget() -> None:
            await db.delete(MigrationRecord, condition)

        if db.dialect.capabilities.transactional_ddl and m.transactional:
            try:
                await db.apply(ops, then=forget)
            except Exception as exc:
                raise self._failed(m, None, exc, "nothing of its down was applied") from exc
        else:
            left = record["ops_done"]
            for index, op in enumerate(ops):
                try:
                    await db.apply([op])
                except Exception as exc:
                    raise MigrateError(
                        "migrate.failed",
                        f"undoing migration {m.name} failed at down op {index + 1}: {exc}; "
                        f"{left} of its ops are still applied (recorded)",
                        {"migration": m.name, "cause": repr(exc)},
                    ) from exc
                left -= 1
                await db.update(MigrationRecord, {"ops_done": left}, condition)
            await forget()
        if progress:
            progress(m.name, len(ops), len(ops))

    def sql(self, names: list[str] | None = None) -> list[tuple[str, list[str]]]:
        """The statements each migration's ``up`` runs on this database (a dry run)."""
        ddl = self.db.dialect.ddl
        chosen = [m for m in self.migrations if names is None or m.name in names]
        return [(m.name, [s for op in m.up for s in ddl(op)]) for m in chosen]
