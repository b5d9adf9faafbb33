"""``mega new <project>``: a minimal project that boots and whose test passes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._errors import handle_errors

PROJECT_FILES = [
    {"path": "mega.toml", "template": "mega.toml.tpl"},
    {"path": ".env.example", "template": "env.example.tpl"},
    {"path": ".gitignore", "template": "gitignore.tpl"},
    {"path": "pyproject.toml", "template": "pyproject.toml.tpl"},
    {"path": "README.md", "template": "README.md.tpl"},
    {"path": "apps/__init__.py", "template": "apps_init.py.tpl"},
    {"path": "apps/main/routes/home.py", "template": "home_routes.py.tpl"},
    {"path": "tests/test_app.py", "template": "test_app.py.tpl"},
    # the app's layout from the start, each folder saying what goes there and what makes it
    {"path": "apps/main/controllers/README.md", "template": "folder_controllers.md.tpl"},
    {"path": "apps/main/models/README.md", "template": "folder_models.md.tpl"},
    {"path": "apps/main/migrations/README.md", "template": "folder_migrations.md.tpl"},
    {"path": "apps/main/views/README.md", "template": "folder_views.md.tpl"},
    {"path": "apps/main/locales/README.md", "template": "folder_locales.md.tpl"},
    {"path": "apps/main/jobs/README.md", "template": "folder_jobs.md.tpl"},
    {"path": "apps/main/schedules/README.md", "template": "folder_schedules.md.tpl"},
    {"path": "apps/main/channels/README.md", "template": "folder_channels.md.tpl"},
]


@handle_errors
def new_command(
    project: Annotated[Path, typer.Argument(help="Directory to create; its name names the app.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Then pip install the project's dependencies (with its dev extra) into the "
            "Python running mega.",
        ),
    ] = False,
) -> None:
    """Create a new project: mega.toml, .env.example, apps/main/ and a passing test."""
    from mega.errors import MegaConfigError
    from mega.generators import GeneratorDef, plan, tokens_for, write
    from mega.kernel_generators import scaffolds_dir
    from mega.registry import Registry

    root = project.resolve()
    if root.exists() and any(root.iterdir()) and not force:
        raise MegaConfigError(
            "new.not_empty",
            f"{root} exists and is not empty; pick a new directory or pass --force",
            {"path": str(root)},
        )
    definition = GeneratorDef.build(
        "new", dir=scaffolds_dir() / "project", files=PROJECT_FILES, base_dir=root, owner="mega new"
    )
    planned = plan(definition, tokens_for(root.name), root)
    planned += plan(Registry().generators.get("app"), tokens_for("main"), root)
    for path in write(planned, force=force):
        typer.echo(f"created {path.relative_to(root.parent)}")
    if install:
        install_dependencies(root)
    typer.echo(
        f"\nNext:\n  cd {project}\n"
        "  mega dev          # http://127.0.0.1:8000 (API docs at /docs), restarted on edits\n"
        "  mega test         # the generated tests boot the app"
    )


def requirements(root: Path) -> list[str]:
    """What the new project's pyproject.toml asks for: its dependencies and its dev extra."""
    import tomllib

    with (root / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh).get("project", {})
    dev = project.get("optional-dependencies", {}).get("dev", [])
    return list(dict.fromkeys([*project.get("dependencies", []), *dev]))


#: pip's lines worth showing while it works (off a TTY each is printed; on one, the spinner
#: says the latest)
PIP_PROGRESS = ("Collecting", "Downloading", "Installing", "Successfully", "Building")


def install_dependencies(root: Path) -> None:
    """``pip install`` the project's requirements into this interpreter, with progress; on
    failure pip's last lines are printed and mega exits with pip's status."""
    import subprocess
    import sys
    from collections import deque

    from .progress import step

    wanted = requirements(root)
    argv = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *wanted]
    tail: deque[str] = deque(maxlen=25)
    with step(f"installing {root.name}'s dependencies: {' '.join(wanted)}") as progress:
        with subprocess.Popen(
            argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as pip:
            assert pip.stdout is not None
            for line in pip.stdout:
                line = line.rstrip()
                tail.append(line)
                if line.startswith(PIP_PROGRESS):
                    if progress.tty:
                        progress.describe(f"pip: {line[:70]}")
                    else:
                        progress.note(f"  {line}")
        status = pip.wait()
        if status == 0:  # on a TTY the spinner's last line says it, elsewhere a line
            done = f"installed {root.name}'s dependencies"
            if progress.tty:
                progress.describe(done)
            else:
                progress.note(done)
    if status != 0:
        typer.echo("\n".join(tail), err=True)
        typer.echo(
            f"pip exited {status}: the project is written, its dependencies are not installed; "
            f"run `{' '.join(argv[:4])} {' '.join(repr(r) for r in wanted)}` when the cause "
            "is fixed",
            err=True,
        )
        raise typer.Exit(status)
