"""``mega plugins`` (what is installed and enabled) and ``mega plugins check`` (for CI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._errors import handle_errors, report

if TYPE_CHECKING:
    from mega.loader import LoadedApp

plugins_cli = typer.Typer(
    help="List installed plugins, or check them (mega plugins check).", no_args_is_help=False
)


def _inspect(root: Path | None) -> tuple[LoadedApp | None, list[Any], Any]:
    """Load the project in check mode: every problem collected, nothing booted."""
    from dotenv import load_dotenv

    from mega.config import find_project_root, load_config
    from mega.discovery import Catalog
    from mega.errors import MegaConfigError
    from mega.loader import load_plugins

    catalog = Catalog.scan()
    found = find_project_root(root)
    if found is None:
        return None, catalog.duplicate_errors(), catalog
    load_dotenv(found / ".env", override=False)
    try:
        config = load_config(found)
    except MegaConfigError as exc:
        return None, [exc, *catalog.duplicate_errors()], catalog
    loaded = load_plugins(config, catalog=catalog, collect=True)
    return loaded, loaded.problems, catalog


@plugins_cli.callback(invoke_without_command=True)
@handle_errors
def list_plugins(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """Installed plugins: version, distribution, enabled, provides/requires, registrations."""
    if ctx.invoked_subcommand is not None:
        return
    loaded, problems, catalog = _inspect(root)
    enabled = {p.name: p for p in loaded.plugins} if loaded else {}
    listed = set(loaded.config.app.plugins) if loaded else set()
    rows = []
    for entry in catalog.entries():
        plugin = enabled.get(entry.name)
        rows.append(
            {
                "name": entry.name,
                "version": plugin.version if plugin else entry.dist_version,
                "distribution": entry.distribution,
                "enabled": entry.name in listed,
                "description": plugin.spec.description if plugin else None,
                "provides": list(plugin.spec.provides) if plugin else None,
                "requires": list(plugin.spec.requires) if plugin else None,
                "registered": loaded.registry.by_plugin.get(entry.name, []) if loaded else [],
                "hooks": _hooks_of(loaded, plugin) if loaded and plugin else [],
            }
        )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "project": str(loaded.config.root) if loaded else None,
                    "plugins": rows,
                    "problems": [p.to_dict() for p in problems],
                },
                indent=2,
            )
        )
    else:
        _print_table(rows, project=loaded is not None)
        for problem in problems:
            report(problem)
    if problems:
        raise typer.Exit(1)


@plugins_cli.command("check")
@handle_errors
def check_plugins(
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """Run every plugin and config check without booting; exit 1 listing all problems."""
    loaded, problems, catalog = _inspect(root)
    for problem in problems:
        report(problem)
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    enabled = len(loaded.plugins) if loaded else 0
    where = f"project {loaded.config.root}" if loaded else "no project (installed plugins only)"
    typer.echo(
        f"ok: {where}; {len(catalog.names)} plugin(s) installed, {enabled} enabled, no problems"
    )


def _hooks_of(loaded: LoadedApp, plugin: Any) -> list[str]:
    """The hooks ``plugin`` implements that are active here: the kernel's and those an
    enabled plugin declares (an implementation of a disabled plugin's hook is dormant)."""
    callers = loaded.pm.get_hookcallers(plugin.module) or []
    return sorted(c.name for c in callers if c.has_spec())


def _summary(registered: list[str]) -> str:
    """``["generator a", "generator b", "command c"]`` -> ``"2 generators, 1 command"``."""
    counts: dict[str, int] = {}
    for item in registered:
        kind = item.rsplit(" ", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items()) or "-"


def _print_table(rows: list[dict[str, Any]], *, project: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "name", "version", "distribution", "enabled", "provides / requires", "registered",
        "hooks", box=None,
    )  # fmt: skip
    for row in rows:
        caps = (
            "-"
            if row["provides"] is None
            else f"{', '.join(row['provides']) or '-'} / {', '.join(row['requires']) or '-'}"
        )
        table.add_row(
            row["name"],
            row["version"],
            row["distribution"],
            "yes" if row["enabled"] else "no",
            caps,
            _summary(row["registered"]),
            str(len(row["hooks"])) if row["hooks"] else "-",
        )
    console = Console()
    console.print(table)
    if not project:
        console.print("[dim]no mega.toml here: showing installed plugins only[/dim]")
    console.print("[dim]mega plugins --json lists every registered name and hook[/dim]")
