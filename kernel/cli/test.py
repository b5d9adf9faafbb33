"""``mega test``: the project's pytest (with mega's fixtures), after a look at its services.

Every ``[adapters.<kind>.<alias>]`` whose driver talks to a server (a URL in its options, a
``host``/``port``, or a driver named after one of the services ``mega.testing.services``
knows) is knocked on over TCP first; those that do not answer are named with how to start
them. Then pytest runs with the remaining arguments, and its exit status is ``mega test``'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from ._errors import handle_errors

#: the port a URL scheme means when it names none
DEFAULT_PORTS = {
    "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379,
    "rediss": 6379, "nats": 4222, "tls": 4222, "mongodb": 27017, "amqp": 5672,
}  # fmt: skip
#: a service by URL scheme or driver name: how to start it here
HOW_TO_START = {
    "postgres": "sudo service postgresql start   # or: docker run -d -p 5432:5432 "
    "-e POSTGRES_HOST_AUTH_METHOD=trust postgres:16",
    "maria": "sudo service mariadb start   # or: docker run -d -p 3306:3306 "
    "-e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 mariadb:11",
    "redis": "redis-server --daemonize yes   # or: docker run -d -p 6379:6379 redis:7",
    "nats": "nats-server -js &   # or: docker run -d -p 4222:4222 nats:2 -js",
    "mongo": "docker run -d -p 27017:27017 mongo:7",
}
SERVICE_OF_SCHEME = {
    "postgresql": "postgres", "postgres": "postgres", "mysql": "maria", "mariadb": "maria",
    "redis": "redis", "rediss": "redis", "nats": "nats", "tls": "nats", "mongodb": "mongo",
}  # fmt: skip


class Service(NamedTuple):
    """A server an adapter connects to."""

    name: str  # postgres, redis… (the URL scheme's service, else the driver)
    host: str
    port: int
    adapters: tuple[str, ...]  # "db.default", …


@handle_errors
def test_command(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option(help="Check the services the adapters connect to first.")
    ] = True,
    root: Annotated[Path | None, typer.Option("--root", help="Project directory.")] = None,
) -> None:
    """Run the project's tests (pytest, mega's fixtures) after checking its services.

    The servers the adapters connect to are checked first; those down are named with how to
    start them. Other arguments go to pytest: mega test -x -k users.
    """
    from mega.config import find_project_root, load_config
    from mega.errors import MegaConfigError

    found = find_project_root(root)
    if found is None:
        raise MegaConfigError(
            "config.not_found",
            f"no mega.toml in {(root or Path.cwd()).resolve()} or any parent directory; run "
            "this inside a project, or create one with `mega new <project>`",
        )
    if check:
        report_services(services(load_config(found).adapters))
    raise typer.Exit(run_pytest(found, list(ctx.args)))


def services(adapters: Any) -> list[Service]:
    """The servers the configured adapters connect to, each once, with who needs it."""
    from mega.testing.services import SERVICES

    found: dict[tuple[str, str, int], list[str]] = {}
    for kind, aliases in adapters.items():
        for alias, options in aliases.items():
            driver = str(options.get("driver", ""))
            addresses = list(_addresses(options))
            if not addresses and driver in SERVICES:  # the driver's default address
                host, port = SERVICES[driver]
                addresses = [(driver, host, port)]
            for address in addresses:
                found.setdefault(address, []).append(f"{kind}.{alias}")
    return [Service(n, h, p, tuple(a)) for (n, h, p), a in found.items()]


def _addresses(options: Any) -> Any:
    """(service, host, port) of every URL in the options, and of a ``host``/``port`` pair."""
    driver = str(options.get("driver", ""))
    for key, value in options.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str) and "://" in item:
                address = _of_url(item)
                if address is not None:
                    yield address
        if key == "host" and isinstance(value, str):
            port = options.get("port")
            if isinstance(port, int):
                yield (driver, value, port)


def _of_url(url: str) -> tuple[str, str, int] | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.split("+")[0]  # postgresql+asyncpg
    if not parts.hostname or scheme not in DEFAULT_PORTS:
        return None
    return (SERVICE_OF_SCHEME.get(scheme, scheme), parts.hostname, port or DEFAULT_PORTS[scheme])


def report_services(found: list[Service]) -> list[Service]:
    """Print which services answer; return those that do not."""
    from mega.testing.services import reachable

    down = []
    for service in found:
        up = reachable(service.host, service.port, timeout=1.0)
        state = "up" if up else "DOWN"
        typer.echo(
            f"{service.name} {service.host}:{service.port} {state} "
            f"(adapters {', '.join(service.adapters)})",
            err=True,
        )
        if not up:
            down.append(service)
    if down:
        typer.echo(
            "tests that need a service that is down skip (fail under MEGA_REQUIRE_SERVICES=1); "
            "to start them:",
            err=True,
        )
        for service in down:
            hint = HOW_TO_START.get(service.name, f"start the {service.name} server")
            typer.echo(f"  {service.name}: {hint}", err=True)
    return down


def run_pytest(root: Path, args: list[str]) -> int:
    """pytest in this interpreter, run in the project's directory (its testpaths apply, and
    the ``app`` fixture boots the project at pytest's rootdir); its exit status. Paths given
    relative to where ``mega test`` runs are passed as absolute ones."""
    import subprocess

    argv = [sys.executable, "-m", "pytest"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "mega.testing.pytest_plugin"]  # mega's fixtures, named explicitly
    here = Path.cwd()
    for arg in args:
        path = here / arg.split("::", 1)[0]
        if not arg.startswith("-") and path.exists():
            arg = str(here / arg)
        argv.append(arg)
    try:
        return subprocess.call(argv, cwd=root)
    except KeyboardInterrupt:
        return 130
