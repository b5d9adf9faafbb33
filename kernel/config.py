"""Loading ``mega.toml``, ``.env`` and ``MEGA__…`` environment overrides into one ``Config``.

Layout of ``mega.toml``::

    [app]
    name = "shop"
    plugins = ["memory", "http"]        # enabled plugins, any order

    [plugins.http]                       # one table per plugin, validated by its model at boot
    port = 8000

    [adapters.cache.default]             # [adapters.<kind>.<alias>], built by a registered driver
    driver = "memory"

The enable list lives in ``[app]`` because TOML cannot hold both ``plugins = [...]`` and
``[plugins.<name>]`` tables. An environment variable ``MEGA__PLUGINS__HTTP__PORT=9000`` overrides
``[plugins.http] port``; a value starting with ``[`` or ``{`` is read as JSON. A shell variable
cannot hold ``-``, so for an enabled plugin named ``acme-audit`` ``MEGA__PLUGINS__ACME_AUDIT__KEY``
works too. Values in the process environment win over ``.env``. ``Config.sources`` remembers where
each table and overridden value came from, for error messages.

A profile overlays another file: ``MEGA_PROFILE=distributed`` (environment or ``.env``) reads
``mega.distributed.toml`` over ``mega.toml`` — tables merge key by key, any other value (a list
included) replaces, an adapter table naming another driver replaces the old table — before the
``MEGA__`` overrides apply.
"""

# No `from __future__ import annotations` here: with it, typing.NamedTuple compiles a
# ForwardRef per field at import (41 compile() calls at boot, measured in bench/boot.py).

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import MegaConfigError, MegaProblems

CONFIG_FILE = "mega.toml"
ENV_PREFIX = "MEGA__"
#: how ``load_config`` labels a value from a variable: ``env MEGA__X`` or ``<root>/.env MEGA__X``
_ENV_SOURCE = rf"(env|.*\.env) {ENV_PREFIX}\S+"  # (re's cache compiles it on first use)
PROFILE_VAR = "MEGA_PROFILE"
TOP_LEVEL_KEYS = ("app", "plugins", "adapters")


class AppSettings(BaseModel):
    """The ``[app]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "app"
    env: str = "development"
    #: The app's own version (``service.version`` of its telemetry); unset: the version of the
    #: project's distribution (see ``Config.app_version``).
    version: str | None = Field(default=None, min_length=1)
    debug: bool = False
    plugins: tuple[str, ...] = ()
    #: The one deadline of a graceful shutdown, from the signal: request drain, plugins'
    #: before_shutdown (job and schedule drains), adapter close, telemetry flush.
    shutdown_timeout_ms: int = Field(default=30_000, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: ``auto``: a console renderer when stderr is a TTY, JSON lines otherwise.
    log_format: Literal["auto", "console", "json"] = "auto"


class Config(NamedTuple):
    """The merged, not yet plugin-validated configuration of one app."""

    app: AppSettings
    plugins: Mapping[str, Mapping[str, Any]]
    adapters: Mapping[str, Mapping[str, Mapping[str, Any]]]
    root: Path | None
    #: key path -> where its value came from, for error messages (``env MEGA__APP__DEBUG``).
    sources: Mapping[tuple[str, ...], str]
    #: the environment the config was read with: the process environment over ``.env``.
    environ: Mapping[str, str]

    def source_of(self, path: tuple[str | int, ...]) -> str:
        """Where the value at ``path`` came from: a file, or ``env <VARIABLE>``."""
        keys = tuple(str(p) for p in path)
        while keys:
            if keys in self.sources:
                return self.sources[keys]
            keys = keys[:-1]
        return str(self.root / CONFIG_FILE) if self.root else "config"

    def sources_under(self, path: tuple[str | int, ...]) -> list[str]:
        """Every place a value at or below ``path`` came from, the table's own first: a table
        from ``mega.toml`` with one key set by ``MEGA__…`` has two sources."""
        keys = tuple(str(p) for p in path)
        inside = [s for k, s in self.sources.items() if k[: len(keys)] == keys]
        return list(dict.fromkeys(inside)) or [self.source_of(keys)]

    def set_by_environment(self, path: tuple[str | int, ...]) -> bool:
        """Whether everything at or below ``path`` came from ``MEGA__…`` variables (set in the
        process environment or in ``.env``), none of it from a file."""
        return all(re.fullmatch(_ENV_SOURCE, s) for s in self.sources_under(path))

    def app_version(self) -> str | None:
        """``[app] version``, else the project distribution's: ``[project] version`` of
        ``<root>/pyproject.toml``, or the installed version of that ``[project] name`` when the
        version is dynamic. None when neither says (never mega's own version)."""
        if self.app.version is not None:
            return self.app.version
        if self.root is None:
            return None
        import tomllib

        try:
            with (self.root / "pyproject.toml").open("rb") as fh:
                project = tomllib.load(fh).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):
            return None
        version = project.get("version")
        if isinstance(version, str) and version:
            return version
        name = project.get("name")
        if not isinstance(name, str) or not name:
            return None
        import importlib.metadata as md

        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` holding a ``mega.toml``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / CONFIG_FILE).is_file():
            return directory
    return None


def load_config(
    root: Path | str | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read ``<root>/mega.toml`` (or take ``data``), apply ``.env`` and environment overrides.

    ``environ`` defaults to ``os.environ``; pass ``{}`` to ignore the environment (tests).
    """
    root_path = Path(root).resolve() if root is not None else None
    if data is None:
        if root_path is None:
            raise MegaConfigError("config.no_project", "no project root given to load_config")
        data = _read_toml(root_path / CONFIG_FILE)
    dotenv = _read_dotenv(root_path) if root_path else {}
    dotenv_file = root_path / ".env" if root_path else None
    merged_env = {**dotenv, **(os.environ if environ is None else environ)}

    tree = _deep_copy(data)
    sources: dict[tuple[str, ...], str] = {}
    base = str(root_path / CONFIG_FILE) if root_path else "config"
    for top in TOP_LEVEL_KEYS:  # the tables' own source, kept when MEGA__ adds a key to one
        if isinstance(tree.get(top), Mapping):
            sources.update({(top, key): base for key in tree[top]})
    profile = merged_env.get(PROFILE_VAR, "")
    if profile and root_path is not None:
        overlay_path = _profile_file(root_path, profile)
        _overlay(tree, _read_toml(overlay_path), (), sources, str(overlay_path))
    overrides = []
    for var, raw in merged_env.items():
        if var.startswith(ENV_PREFIX) and len(var) > len(ENV_PREFIX):
            path = tuple(part.lower() for part in var[len(ENV_PREFIX) :].split("__"))
            # `mega` commands load .env into the process environment: an equal value is .env's
            from_dotenv = dotenv_file is not None and dotenv.get(var) == raw
            where = f"{dotenv_file} {var}" if from_dotenv else f"env {var}"
            overrides.append((path, var, raw, where))
    # [plugins.<name>] overrides last: their names are matched against the enabled list, which
    # may itself be overridden (MEGA__APP__PLUGINS)
    for path, var, raw, where in sorted(overrides, key=lambda o: o[0][0] == "plugins"):
        if path[0] == "plugins" and len(path) > 1:
            path = ("plugins", _env_plugin_name(var, path[1], _enabled(tree)), *path[2:])
        _set_path(tree, path, _parse_env_value(var, raw), var)
        for below in [k for k in sources if k[: len(path)] == path]:
            del sources[below]  # replaced: what was below came from elsewhere
        sources[path] = where

    partial = Config(AppSettings(), {}, {}, root_path, sources, merged_env)
    unknown = [k for k in tree if k not in TOP_LEVEL_KEYS]
    if unknown:
        where = ", ".join(s for k in unknown for s in partial.sources_under((k,)))
        raise MegaConfigError(
            "config.unknown_key",
            f"config has unknown top-level key(s) {', '.join(map(repr, unknown))} (from {where}); "
            f"expected only {', '.join(TOP_LEVEL_KEYS)} ([app], [plugins.<name>], "
            "[adapters.<kind>.<alias>])",
            {"keys": unknown, "source": where},
        )
    try:
        app = AppSettings.model_validate(tree.get("app", {}))
    except ValidationError as exc:
        raise_validation(exc, ("app",), AppSettings, partial)
    plugins = _tables(tree.get("plugins", {}), ("plugins",), "[plugins.<name>]", partial)
    adapters: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, aliases in _tables(
        tree.get("adapters", {}), ("adapters",), "[adapters.<kind>.<alias>]", partial
    ).items():
        adapters[kind] = _tables(aliases, ("adapters", kind), f"[adapters.{kind}.<alias>]", partial)
    return Config(app, plugins, adapters, root_path, sources, merged_env)


def env_spellings(segment: str, names: list[str]) -> list[str]:
    """The plugin names an environment variable's lower-cased ``segment`` may stand for: itself,
    or, as a shell variable cannot hold ``-``, a name with ``_`` in place of its hyphens
    (``acme_audit`` for ``acme-audit``)."""

    def spells(name: str) -> bool:
        lowered = name.lower()
        return len(lowered) == len(segment) and all(
            s == n or (s == "_" and n == "-") for s, n in zip(segment, lowered, strict=True)
        )

    return [name for name in dict.fromkeys(names) if spells(name)]


def _enabled(tree: Mapping[str, Any]) -> list[str]:
    app = tree.get("app")
    plugins = app.get("plugins") if isinstance(app, Mapping) else None
    if not isinstance(plugins, list | tuple):
        return []
    return [p for p in plugins if isinstance(p, str)]


def _env_plugin_name(var: str, segment: str, enabled: list[str]) -> str:
    """The enabled plugin ``MEGA__PLUGINS__<SEGMENT>__…`` configures (``segment`` itself when it
    spells none: the table is then checked like any other)."""
    found = env_spellings(segment, enabled)
    if len(found) > 1:
        hyphenated = next((n for n in found if "-" in n), None)
        spell = (
            f", or keep the hyphens ({ENV_PREFIX}PLUGINS__{hyphenated.upper()}__… in .env, or "
            "set through `env`)"
            if hyphenated
            else ""
        )
        raise MegaConfigError(
            "config.invalid_env",
            f"environment variable {var} could configure plugin {found[0]!r} or {found[1]!r}: "
            "both are enabled, and a variable's name is read case-insensitively with `_` "
            f"standing for `-` too; set the value under [plugins.<name>] in mega.toml{spell}",
            {"variable": var, "plugins": found},
        )
    return found[0] if found else segment


def validation_problems(
    exc: ValidationError, prefix: tuple[str, ...], model: type[BaseModel], config: Config
) -> list[MegaConfigError]:
    """One ``MegaConfigError`` per pydantic error: key path, bad value, what was expected."""
    import difflib

    problems = []
    known = list(model.model_fields)
    for err in exc.errors(include_url=False):
        path = (*prefix, *map(str, err["loc"]))
        dotted = ".".join(path)
        source = config.source_of(path)
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                MegaConfigError(
                    "config.unknown_key",
                    f"config key {dotted} (in {source}) is not a known setting{hint}; "
                    f"known keys here: {', '.join(known) or '(none)'}",
                    {"key": dotted, "known": known, "source": source},
                )
            )
        else:
            problems.append(
                MegaConfigError(
                    "config.invalid_value",
                    f"config key {dotted} (in {source}) has value {err['input']!r}: {err['msg']}",
                    {
                        "key": dotted,
                        "value": err["input"],
                        "expected": err["msg"],
                        "source": source,
                    },
                )
            )
    return problems


def raise_validation(
    exc: ValidationError, prefix: tuple[str, ...], model: type[BaseModel], config: Config
) -> Any:
    MegaProblems.raise_if_any(validation_problems(exc, prefix, model, config))
    raise AssertionError("unreachable: a ValidationError always has errors")


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise MegaConfigError(
            "config.not_found",
            f"no {CONFIG_FILE} at {path.parent}; run `mega new <project>` to create a project, "
            "or run mega from a project directory",
            {"path": str(path)},
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise MegaConfigError(
            "config.invalid_toml", f"{path} is not valid TOML: {exc}", {"path": str(path)}
        ) from exc


def _read_dotenv(root: Path) -> dict[str, str]:
    path = root / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _parse_env_value(var: str, raw: str) -> Any:
    if raw and raw[0] in "[{":  # (`"" in "[{"` is true: an empty value is just empty)
        import json

        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MegaConfigError(
                "config.invalid_env",
                f"environment variable {var} starts with {raw[0]!r} so it is read as JSON, "
                f"but it is not valid JSON: {exc}",
                {"variable": var, "value": raw},
            ) from exc
    return raw


def _set_path(tree: dict[str, Any], path: tuple[str, ...], value: Any, var: str) -> None:
    node = tree
    for i, key in enumerate(path[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise MegaConfigError(
                "config.invalid_env",
                f"environment override {var} goes below "
                f"{'.'.join(path[: i + 1])}, which is a value, not a table",
                {"path": ".".join(path), "variable": var},
            )
        node = child
    node[path[-1]] = value


def _tables(value: Any, path: tuple[str, ...], shape: str, config: Config) -> dict[str, Any]:
    where = ".".join(path)
    if not isinstance(value, Mapping):
        source = config.source_of(path)
        raise MegaConfigError(
            "config.invalid_value",
            f"config key {where} (in {source}) must be a table of tables like {shape}, "
            f"got {value!r}",
            {"key": where, "value": value, "source": source},
        )
    for key, table in value.items():
        if not isinstance(table, Mapping):
            source = config.source_of((*path, key))
            raise MegaConfigError(
                "config.invalid_value",
                f"config key {where}.{key} (in {source}) must be a table ({shape}), got {table!r}",
                {"key": f"{where}.{key}", "value": table, "source": source},
            )
    return {k: dict(v) for k, v in value.items()}


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _profile_file(root: Path, profile: str) -> Path:
    name = f"mega.{profile}.toml"
    path = root / name
    if re.fullmatch(r"[A-Za-z0-9_-]+", profile) and path.is_file():
        return path
    found = sorted(p.name[5:-5] for p in root.glob("mega.*.toml"))
    raise MegaConfigError(
        "config.profile_not_found",
        f"{PROFILE_VAR}={profile!r} selects {name}, which is not in {root}; "
        f"profiles here: {', '.join(found) or '(none: add mega.<profile>.toml)'}",
        {"profile": profile, "path": str(path), "profiles": found},
    )


def _overlay(
    tree: dict[str, Any],
    overlay: Mapping[str, Any],
    prefix: tuple[str, ...],
    sources: dict[tuple[str, ...], str],
    source: str,
) -> None:
    """Merge ``overlay`` into ``tree``: tables key by key, anything else replaces.

    An adapter table that names another driver replaces the old one whole: the old driver's
    keys (a SQLite ``path``) mean nothing to the new one (PostgreSQL).
    """
    for key, value in overlay.items():
        path = (*prefix, key)
        old = tree.get(key)
        new_driver = (
            len(path) == 3
            and path[0] == "adapters"
            and isinstance(value, Mapping)
            and isinstance(old, dict)
            and value.get("driver", old.get("driver")) != old.get("driver")
        )
        if isinstance(value, Mapping) and isinstance(old, dict) and not new_driver:
            _overlay(tree[key], value, path, sources, source)
        else:
            tree[key] = _deep_copy(value) if isinstance(value, Mapping) else value
            sources[path] = source
