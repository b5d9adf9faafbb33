"""``mega migrate make | up | down | status | sql | check``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from mega import Progress

migrate_cli = typer.Typer(
    help="Schema migrations: write them from the models, apply, undo, inspect.",
    no_args_is_help=True,
)

DbOption = Annotated[str, typer.Option("--db", help="The [adapters.db.<alias>] to migrate.")]
LockOption = Annotated[
    float,
    typer.Option("--lock-timeout", min=0, help="Seconds to wait for another runner's lock."),
]


def _root() -> Any:
    from mega import MegaConfigError, find_project_root

    root = find_project_root(None)
    if root is None:
        raise MegaConfigError(
            "config.not_found", "no mega.toml here or above: run this inside a project"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root


def contributed_models() -> list[Any]:
    """The models enabled plugins keep tables for (``mega_db_models``): their tables go into
    the project's migrations like its own models'."""
    from mega import project_app

    app = project_app(tool=True)
    models = [m for found in app.hooks.collect("mega_db_models", app=app) for m in found]
    # deprecated: registry.contribute("model", ...) (one release)
    contributions = app.registry.contributions("model")
    return models + [contributions.get(name) for name in contributions]


def _with_migrator(
    alias: str, lock_timeout: float, work: Callable[[Any, Any], Awaitable[Any]]
) -> Any:
    from mega import project_app

    from .runner import Migrator, load_migrations

    async def main() -> Any:
        # the database alone: a deploy migrates before (or while) the bus, the cache… are up
        app = project_app(tool=True)
        db = app.adapters.get("db", alias)
        await db.connect()
        try:
            migrator = Migrator(db, load_migrations(app.config.root), lock_timeout_s=lock_timeout)
            return await work(migrator, db)
        finally:
            await db.close()

    return asyncio.run(main())


@migrate_cli.command("make")
def make(
    name: Annotated[str, typer.Argument(help="What it does, e.g. add_users.")],
    app: Annotated[str, typer.Option("--app", help="The app whose migrations/ gets it.")] = "main",
    db: DbOption = "default",
    allow_drop: Annotated[
        bool, typer.Option("--allow-drop", help="Allow ops that lose data (drop table/column).")
    ] = False,
) -> None:
    """Diff the models against the journal snapshot and write a migration file."""
    from .journal import make_migration

    interactive = sys.stdin.isatty()

    def confirm(question: str) -> bool:
        return typer.confirm(question, default=False)

    made = make_migration(
        _root(), name, app=app, alias=db, allow_drop=allow_drop,
        confirm=confirm if interactive else None, extra_models=contributed_models(),
    )  # fmt: skip
    if made.path is None:
        typer.echo("no changes: the models match the journal snapshot; nothing written")
        return
    typer.echo(f"created {made.path.relative_to(_root())} ({len(made.plan.up)} ops)")
    for line in made.plan.destructive:
        typer.echo(f"  destructive: {line}")


@migrate_cli.command("up")
def up(
    to: Annotated[str | None, typer.Option("--to", help="Stop after this migration.")] = None,
    db: DbOption = "default",
    lock_timeout: LockOption = 60.0,
) -> None:
    """Apply pending migrations (and resume a partial one), in order."""
    progress = UpProgress()

    async def work(migrator: Any, _db: Any) -> list[str]:
        try:
            return list(await migrator.up(to, progress=progress.op, planned=progress.plan))
        finally:
            progress.close()

    applied = _with_migrator(db, lock_timeout, work)
    typer.echo(f"applied {len(applied)} migration(s)" if applied else "nothing to apply")


class UpProgress:
    """``migrate up``'s progress on stderr (``mega.Progress``): a bar over the migrations on a
    TTY; elsewhere one plain line per migration applied."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    def plan(self, names: list[str]) -> None:
        if names:
            self._progress = Progress("migrating", len(names)).__enter__()

    def op(self, name: str, done: int, total: int) -> None:
        progress = self._progress
        if progress is None:
            return
        progress.describe(f"{name} ({done}/{total} ops)")
        if done == total:
            if not progress.tty:
                progress.note(f"  applied {name} ({total} ops)")
            progress.advance()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


@migrate_cli.command("down")
def down(
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many to undo.")] = 1,
    db: DbOption = "default",
    lock_timeout: LockOption = 60.0,
) -> None:
    """Undo the newest applied migrations."""

    async def work(migrator: Any, _db: Any) -> list[str]:
        return list(await migrator.down(steps))

    undone = _with_migrator(db, lock_timeout, work)
    for name in undone:
        typer.echo(f"undone {name}")
    if not undone:
        typer.echo("nothing to undo")


@migrate_cli.command("status")
def status(
    db: DbOption = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lock_timeout: LockOption = 60.0,
) -> None:
    """Every migration: applied, pending, partial, edited (file changed) or missing (file gone)."""

    async def work(migrator: Any, _db: Any) -> list[Any]:
        return list(await migrator.status())

    rows = _with_migrator(db, lock_timeout, work)
    if as_json:
        out = [{**r._asdict(), "applied_at": r.applied_at and r.applied_at.isoformat()}
               for r in rows]  # fmt: skip
        typer.echo(json.dumps(out, indent=2))
        return
    if not rows:
        typer.echo("no migrations (write one with `mega migrate make <name>`)")
    for r in rows:
        ops = f"{r.ops_done}/{r.ops_total} ops" if r.state == "partial" else ""
        typer.echo(f"{r.state:8} {r.name} {ops}".rstrip())
    if any(r.state in ("edited", "missing", "partial") for r in rows):
        raise typer.Exit(1)


@migrate_cli.command("sql")
def sql(
    db: DbOption = "default",
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect",
            help="Render every migration for this registered dialect, without a database.",
        ),
    ] = None,
    lock_timeout: LockOption = 60.0,
) -> None:
    """Print the SQL the pending migrations would run on this database (nothing is applied)."""
    if dialect is not None:
        from mega import project_app

        from .runner import load_migrations

        app = project_app(tool=True)
        found = app.registry.dialects.get(dialect)
        chosen = found() if isinstance(found, type) else found
        for m in load_migrations(app.config.root):
            typer.echo(f"-- {m.name}")
            for op in m.up:
                for statement in chosen.ddl(op):
                    typer.echo(statement.rstrip() + ";")
        return

    async def work(migrator: Any, _db: Any) -> list[tuple[str, list[str]]]:
        pending = [s.name for s in await migrator.status() if s.state in ("pending", "partial")]
        return list(migrator.sql(pending))

    for name, statements in _with_migrator(db, lock_timeout, work):
        typer.echo(f"-- {name}")
        for statement in statements:
            typer.echo(statement.rstrip() + ";")


@migrate_cli.command("check")
def check(db: DbOption = "default") -> None:
    """Compare the live database with the journal snapshot (drift from manual changes)."""
    from .drift import drift

    root = _root()

    async def work(_migrator: Any, database: Any) -> list[str]:
        return drift(root, db, await database.introspect(), database.dialect)

    problems = _with_migrator(db, 60.0, work)
    if not problems:
        typer.echo("no drift: the database matches the journal snapshot")
        return
    for problem in problems:
        typer.echo(f"drift: {problem}")
    raise typer.Exit(1)
