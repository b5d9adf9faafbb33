"""The ``mega`` command line.

Only typer is imported up front: every command imports what it needs when it runs, so
``mega --help`` stays fast and imports no plugin. Commands added by plugins (through
``mega_register``) are looked up only when the command given is not a builtin one.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from . import generate, new, plugins, run
from ._errors import fail, handle_errors
from ._project import load_project_app

HELP = "mega: a Python application framework built as a plugin microkernel."
EPILOG = (
    "Enabled plugins add commands of their own; `mega plugins` lists what each registered. "
    "Docs: docs/quickstart.md."
)


def _version(value: bool) -> None:
    if value:
        from mega import __version__

        typer.echo(f"mega {__version__}")
        raise typer.Exit()


def build_cli() -> typer.Typer:
    cli = typer.Typer(
        name="mega",
        help=HELP,
        epilog=EPILOG,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @cli.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_version, is_eager=True, help="Print mega's version and exit."
            ),
        ] = False,
    ) -> None:
        """mega: a Python application framework built as a plugin microkernel."""

    cli.command("new")(new.new_command)
    cli.command("g")(generate.generate_command)
    cli.command("run")(run.run_command)
    cli.add_typer(plugins.plugins_cli, name="plugins")
    return cli


#: commands the CLI itself defines (the registry's reserved command names are a wider set)
KERNEL_COMMANDS = frozenset({"new", "g", "run", "plugins"})


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mega`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    cli = build_cli()
    command = next((a for a in args if not a.startswith("-")), None)
    if command is not None and command not in KERNEL_COMMANDS:
        try:
            _add_plugin_commands(cli, command)
        except typer.Exit as exc:  # raised outside the typer app: exit as it would
            sys.exit(exc.exit_code)
    cli(args=args, prog_name="mega")


@handle_errors
def _add_plugin_commands(cli: typer.Typer, wanted: str) -> None:
    app = load_project_app(required=False)
    if app is None:
        fail(
            "cli.unknown_command",
            f"no such command {wanted!r}; builtin commands: "
            f"{', '.join(sorted(KERNEL_COMMANDS))}. Plugin commands need a project: run mega "
            "inside a directory with a mega.toml",
        )
    commands = app.registry.commands
    if wanted not in commands:
        known = sorted(KERNEL_COMMANDS | set(commands))
        fail(
            "cli.unknown_command",
            f"no such command {wanted!r}; available: {', '.join(known)}. A plugin command "
            "appears when its plugin is enabled in [app].plugins",
        )
    for name, entry in commands.items():
        definition = entry.value
        if isinstance(definition.target, typer.Typer):
            _report_errors(definition.target)
            cli.add_typer(definition.target, name=name, help=definition.help)
        else:
            cli.command(name, help=definition.help)(handle_errors(definition.target))


def _report_errors(group: typer.Typer) -> None:
    """Make a plugin's commands (nested groups too: ``mega jobs dlq show``) report a MegaError
    like builtin ones do: ``error[code]: message``, not a traceback."""
    for command in group.registered_commands:
        if command.callback is not None:
            command.callback = handle_errors(command.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _report_errors(sub.typer_instance)
