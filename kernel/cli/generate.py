"""``mega g <generator> <name>``: render a builtin or plugin generator into the project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ._errors import handle_errors
from ._project import load_project_app

if TYPE_CHECKING:
    from mega.app import App


@handle_errors
def generate_command(
    generator: Annotated[str | None, typer.Argument(help="Generator name (see --list).")] = None,
    name: Annotated[str | None, typer.Argument(help="What to generate, e.g. UserProfile.")] = None,
    app_name: Annotated[str, typer.Option("--app", help="Target app under apps/.")] = "main",
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written.")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="List generators and exit.")] = False,
) -> None:
    """Generate code from a builtin or plugin generator (mega g service billing)."""
    from mega.errors import MegaConfigError
    from mega.generators import plan, tokens_for, write
    from mega.registry import BUILTIN_GENERATORS

    app = load_project_app()
    generators = app.registry.generators
    if list_ or generator is None:
        _print_list(app)
        return
    if generator in BUILTIN_GENERATORS and generator not in generators:
        provider = BUILTIN_GENERATORS[generator]
        if provider not in app.catalog.names:
            # advising "enable it" would only lead to plugin.unknown
            raise MegaConfigError(
                "generate.plugin_not_available",
                f"generator {generator!r} belongs to mega's first-party plugin {provider!r}, "
                f"which this installation does not have (installed: "
                f"{', '.join(app.catalog.names)}); upgrade mega-framework to get it",
                {"generator": generator, "plugin": provider},
            )
        raise MegaConfigError(
            "generate.plugin_not_enabled",
            f"generator {generator!r} comes with mega's first-party plugin {provider!r}, which "
            f"is not enabled; add {provider!r} to [app].plugins in mega.toml",
            {"generator": generator, "plugin": provider},
        )
    definition = generators.get(generator)
    if name is None:
        raise MegaConfigError(
            "generate.missing_name",
            f"say what to generate: mega g {generator} <Name> (e.g. mega g {generator} billing)",
        )
    root = app.config.root
    assert root is not None
    planned = plan(definition, tokens_for(name, app_name), root)
    if dry_run:
        for item in planned:
            verb = "would overwrite" if item.exists else "would create"
            typer.echo(f"{verb} {item.path.relative_to(root)}")
        return
    existed = {p.path for p in planned if p.exists}
    for path in write(planned, force=force):
        typer.echo(f"{'overwrote' if path in existed else 'created'} {path.relative_to(root)}")


def _print_list(app: App) -> None:
    from rich.console import Console
    from rich.table import Table

    from mega.registry import BUILTIN_GENERATORS

    generators = app.registry.generators
    table = Table("generator", "owner", "description", box=None)
    for name in sorted(set(generators) | set(BUILTIN_GENERATORS)):
        if name in generators:
            definition = generators.get(name)
            table.add_row(name, generators.owner_of(name).plugin, definition.description)
        else:
            plugin = BUILTIN_GENERATORS[name]
            hint = (
                f"enable plugin {plugin!r} to use"
                if plugin in app.catalog.names
                else f"plugin {plugin!r} is not installed"
            )
            table.add_row(name, plugin, f"[dim]({hint})[/dim]")
    Console().print(table)
