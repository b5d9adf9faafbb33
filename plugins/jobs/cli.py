"""``mega worker`` and ``mega jobs status | outbox | dlq list|show|replay|purge``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from mega import Progress


def worker_command(
    jobs: Annotated[
        str | None,
        typer.Option("--jobs", help="Comma-separated job names or subjects (default: all)."),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Override every job's concurrency: its max in flight for the whole worker "
            "group (the durable consumer's max_ack_pending).",
        ),
    ] = None,
) -> None:
    """Consume the app's jobs until SIGINT/SIGTERM, then drain runs in flight and exit.

    Runs still going at the drain deadline ([plugins.jobs] drain_timeout_ms) are handed back
    and redelivered to another worker; none is lost.
    """
    from mega import project_app, run_until_signal

    app = project_app(tool=True)
    names = [n.strip() for n in jobs.split(",") if n.strip()] if jobs else None

    async def start(app: Any) -> None:
        runtime = app.extensions["jobs"]
        # a worker also runs the outbox relay (as configured): with the web processes gone,
        # it is what publishes the jobs they committed
        if runtime.outbox is not None and runtime.settings.outbox_relay:
            runtime.outbox.start_relay()
        started = await runtime.start(names, concurrency=concurrency)
        if not started:
            typer.echo("no jobs to consume (add one with `mega g job <Name>`)", err=True)
        for consumption in started:
            typer.echo(
                f"consuming {type(consumption.job).__name__} on {consumption.subject!r} "
                f"(concurrency {consumption.slots})",
                err=True,
            )
        typer.echo("worker ready; SIGTERM drains and stops", err=True)

    asyncio.run(run_until_signal(app, on_ready=start))
    typer.echo("worker stopped cleanly", err=True)


jobs_cli = typer.Typer(help="Job streams: status and dead letters.", no_args_is_help=True)
dlq_cli = typer.Typer(help="Dead letters: list, show, replay, purge.", no_args_is_help=True)
jobs_cli.add_typer(dlq_cli, name="dlq")


def _with_jobs(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from mega import project_app

    async def main() -> Any:
        async with project_app(tool=True) as app:
            return await work(app.extensions["jobs"])

    return asyncio.run(main())


@jobs_cli.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Per job: messages in the stream, waiting, in flight, redelivered, in the DLQ."""

    async def collect(jobs: Any) -> list[dict[str, Any]]:
        rows = []
        for name, cls in sorted(jobs.jobs.items()):
            stats = await jobs.queue(cls.bus).bus.stats(cls.subject)
            rows.append({"job": name, "bus": cls.bus, **stats._asdict()})
        return rows

    rows = _with_jobs(collect)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no jobs (add one with `mega g job <Name>`)")
        return
    header = ("job", "subject", "depth", "pending", "in_flight", "redelivered", "dlq_depth")
    table = [header] + [tuple(str(r[h]) for h in header) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


@jobs_cli.command("outbox")
def outbox(
    retry_dead: Annotated[
        bool,
        typer.Option("--retry-dead", help="Put rows parked as dead back in line for the relay."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The transactional outbox: jobs committed but not yet on the bus, and parked ones.

    Reads the database alone, so it answers while the bus is down."""
    found = asyncio.run(_outbox_figures(retry_dead))
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    oldest = found["oldest_pending_s"]
    typer.echo(
        f"outbox on db {found['db']!r}: {found['pending']} pending"
        + (f" (oldest {oldest} s)" if oldest is not None else "")
        + f", {found['dead']} dead"
    )
    if retry_dead:
        typer.echo(f"{found['revived']} dead row(s) put back for the relay")


async def _outbox_figures(retry_dead: bool) -> dict[str, Any]:
    """The outbox table's numbers, read with the database alone: it must answer while the bus
    is down, which is when it matters."""
    from mega import MegaNotFoundError, project_app

    from .outbox import TABLE, OutboxStorage

    app = project_app(tool=True)
    alias = getattr(app.plugin_config("jobs"), "outbox_db", "")
    try:
        db = app.adapters.get("db", alias) if alias else None
    except MegaNotFoundError:
        db = None
    if db is None:
        raise typer.BadParameter(
            f"no outbox: [plugins.jobs] outbox_db = {alias!r} names no configured db adapter"
        )
    await db.connect()
    try:
        storage = OutboxStorage(db)
        if not await storage.ready():
            raise typer.BadParameter(
                f"db {alias!r} has no table {TABLE!r} yet: run `mega migrate make add_job_outbox` "
                "and `mega migrate up`"
            )
        revived = await storage.revive_dead() if retry_dead else 0
        stats = await storage.stats()
    finally:
        await db.close()
    age = stats.oldest_pending_age
    return {
        "db": alias,
        "pending": stats.pending,
        "oldest_pending_s": None if age is None else round(age.total_seconds(), 3),
        "dead": stats.dead,
        "revived": revived,
    }


JobArg = Annotated[str, typer.Argument(help="Job class name or subject.")]


@dlq_cli.command("list")
def dlq_list(
    job: JobArg,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dead letters of a job, oldest first: sequence, when, error."""

    async def collect(jobs: Any) -> list[Any]:
        cls = jobs.get(job)
        return list(await jobs.queue(cls.bus).bus.dead_letters(cls.subject, limit=limit))

    letters = _with_jobs(collect)
    if as_json:
        typer.echo(json.dumps([{"seq": s, **e} for s, e in letters], indent=2))
        return
    if not letters:
        typer.echo(f"no dead letters for {job}")
    for seq, envelope in letters:
        error = envelope.get("error", {})
        typer.echo(
            f"{seq}  {envelope.get('failed_at')}  deliveries={envelope.get('delivery_count')}  "
            f"{error.get('name')}: {error.get('message')}"
        )


@dlq_cli.command("show")
def dlq_show(job: JobArg, seq: Annotated[int, typer.Argument(help="DLQ sequence.")]) -> None:
    """One dead letter's whole envelope (payload, error with stack), as JSON."""

    async def fetch(jobs: Any) -> Any:
        cls = jobs.get(job)
        return await jobs.queue(cls.bus).bus.dead_letter(cls.subject, seq)

    letter = _with_jobs(fetch)
    typer.echo(json.dumps({"seq": letter.seq, **letter.envelope}, indent=2))


@dlq_cli.command("replay")
def dlq_replay(
    job: JobArg,
    seq: Annotated[int | None, typer.Option("--seq", help="Only this dead letter.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter of the job.")] = False,
) -> None:
    """Put dead letters back on the job's work stream (and remove them from the DLQ)."""
    if (seq is None) == (not all_):
        raise typer.BadParameter("pass exactly one of --seq N or --all")

    async def replay(jobs: Any) -> Any:
        cls = jobs.get(job)
        if seq is not None:
            return await jobs.replay(cls, seq)
        letters = await jobs.queue(cls.bus).bus.dead_letters(cls.subject, limit=1_000_000)
        replayed = []
        with Progress(f"replaying {job}", len(letters)) as progress:
            for letter in letters:  # one at a time: the bar moves, an interruption loses none
                replayed += await jobs.replay(cls, letter.seq)
                progress.advance()
        return replayed

    replayed = _with_jobs(replay)
    typer.echo(f"replayed {len(replayed)} dead letter(s) of {job}")


@dlq_cli.command("purge")
def dlq_purge(
    job: JobArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every dead letter of a job."""
    if not yes:
        typer.confirm(f"delete every dead letter of {job}?", abort=True)

    async def purge(jobs: Any) -> int:
        cls = jobs.get(job)
        return int(await jobs.queue(cls.bus).bus.purge_dead_letters(cls.subject))

    typer.echo(f"purged {_with_jobs(purge)} dead letter(s) of {job}")
