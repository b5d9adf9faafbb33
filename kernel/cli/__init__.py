"""The ``mega`` command line.

Only typer is imported up front: every command imports what it needs when it runs, so
``mega --help`` outside a project stays fast and imports no plugin. Commands added by plugins
(through ``mega_register``) are looked up only when the command given is not a builtin one, or
when ``mega --help`` runs inside a project: it builds (never boots) the project's app to list
them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from . import console, dev, generate, new, plugins, run, test
from ._errors import fail, handle_errors
from ._project import load_project_app

if TYPE_CHECKING:
    from mega.registry import CommandDef, NameRegistry

HELP = "mega: a Python application framework built as a plugin microkernel."
EPILOG = (
    "Enabled plugins add commands of their own, listed here when mega runs inside a project; "
    "`mega plugins` shows which plugin registered what. Docs: docs/quickstart.md."
)


def _version(value: bool) -> None:
    if value:
        from mega import __version__

        typer.echo(f"mega {__version__}")
        raise typer.Exit()


def build_cli() -> typer.Typer:
    cli = typer.Typer(
        name="mega",
        # markdown, not rich markup: "[plugins.http] port" in a help text is a config table,
        # which rich markup would take for a style tag and drop
        rich_markup_mode=HELP_MARKUP,
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
    cli.command("console")(console.console_command)
    cli.command("dev")(dev.dev_command)
    # what follows mega's own options goes to pytest as it is
    cli.command(
        "test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(test.test_command)
    plugins.plugins_cli.rich_markup_mode = HELP_MARKUP
    cli.add_typer(plugins.plugins_cli, name="plugins")
    return cli


#: commands the CLI itself defines (the registry's reserved command names are a wider set)
KERNEL_COMMANDS = frozenset({"new", "g", "run", "plugins", "console", "dev", "test"})


#: how help texts are read: brackets stay brackets (``[plugins.http]``)
HELP_MARKUP: Literal["markdown"] = "markdown"

#: the help panel listing the commands of the project's enabled plugins
PLUGIN_PANEL = "Commands of enabled plugins"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mega`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    cli = build_cli()
    command = next((a for a in args if not a.startswith("-")), None)
    note = None
    if command is not None and command not in KERNEL_COMMANDS:
        try:
            _add_plugin_commands(cli, command)
        except typer.Exit as exc:  # raised outside the typer app: exit as it would
            sys.exit(exc.exit_code)
    elif command is None and "--version" not in args and (not args or "--help" in args):
        note = _add_project_commands(cli)
    try:
        cli(args=args, prog_name="mega")
    finally:
        if note:
            typer.echo(note, err=True)


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
    _add_commands(cli, commands)


def _add_project_commands(cli: typer.Typer) -> str | None:
    """For ``mega --help`` inside a project: add its plugins' commands under their own panel.

    Returns the line to print after the help when the project's app cannot be built: the help
    must still print, so any failure (bad config, a plugin that fails to import) is reported.
    """
    here = Path.cwd()
    # a cheap look before building: outside a project, --help imports nothing more
    if not any((d / "mega.toml").is_file() for d in (here, *here.parents)):
        return None
    try:
        app = load_project_app(required=False)
    except Exception as exc:
        return f"The project's plugin commands could not be loaded: {_reason(exc)}"
    if app is not None:
        _add_commands(cli, app.registry.commands, panel=PLUGIN_PANEL)
    return None


def _reason(exc: Exception) -> str:
    """One line saying why: ``error[code]: message``, the first of several problems."""
    from mega.errors import MegaError

    if not isinstance(exc, MegaError):
        return f"{type(exc).__name__}: {exc}"
    problems = getattr(exc, "problems", None)
    if problems:
        first = problems[0]
        reason = (
            f"{len(problems)} problems, the first: error[{first.code}]: {first.message}; "
            "`mega plugins check` lists them all"
        )
    else:
        reason = f"error[{exc.code}]: {exc.message}"
    return " ".join(reason.split())


def _add_commands(
    cli: typer.Typer, commands: NameRegistry[CommandDef], *, panel: str | None = None
) -> None:
    for name, entry in commands.items():
        definition = entry.value
        if isinstance(definition.target, typer.Typer):
            _report_errors(definition.target)
            cli.add_typer(definition.target, name=name, help=definition.help, rich_help_panel=panel)
        else:
            cli.command(name, help=definition.help, rich_help_panel=panel)(
                handle_errors(definition.target)
            )


def _report_errors(group: typer.Typer) -> None:
    """Make a plugin's commands (nested groups too: ``mega jobs dlq show``) report a MegaError
    like builtin ones do: ``error[code]: message``, not a traceback; their help is read as
    the builtin ones' is."""
    group.rich_markup_mode = HELP_MARKUP
    for command in group.registered_commands:
        if command.callback is not None:
            command.callback = handle_errors(command.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _report_errors(sub.typer_instance)
