"""``mega schedule list`` and ``mega schedule run <name>``."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mega import Event

    from .scheduler import Scheduler

schedule_cli = typer.Typer(
    help="List schedules, or fire one now (through its lock).", no_args_is_help=True
)


@schedule_cli.command("list")
def list_schedules(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every schedule: cron, time zone, the next 3 fire times, its lock."""
    from mega import App

    from .discovery import discover_schedules
    from .scheduler import utcnow

    app = App.from_project()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for cls in sorted(discover_schedules(app.config.root), key=lambda c: c.schedule_name()):
        assert cls._cron is not None
        rows.append(
            {
                "name": cls.schedule_name(),
                "cron": cls.cron,
                "timezone": cls.timezone,
                "next": [t.isoformat() for t in cls._cron.upcoming(now, 3)],
                "lock": None if cls._lock is None else cls._lock._asdict(),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no schedules (add one with `mega g schedule <Name>`)")
    for row in rows:
        lock = row["lock"]
        where = f"lock {lock['lock']} ttl {lock['ttl_ms']} ms" if lock else "no lock"
        typer.echo(f"{row['name']}  {row['cron']!r} {row['timezone']}  {where}")
        for fire in row["next"]:
            typer.echo(f"    next {fire}")


@schedule_cli.command("run")
def run_schedule(name: Annotated[str, typer.Argument(help="Schedule class name.")]) -> None:
    """Fire a schedule now, through its lock; exit 1 unless it ran and succeeded."""
    from mega import project_app

    async def fire() -> Event:
        async with project_app(tool=True) as app:
            scheduler: Scheduler = app.extensions["schedule"]
            return await scheduler.fire_now(name)

    event = asyncio.run(fire())
    detail = {k: v for k, v in event.data.items() if k not in ("schedule", "fire_time")}
    typer.echo(f"{name}: {event.name} {detail}")
    if event.name != "done":
        raise typer.Exit(1)
