"""Adapters: connections to the outside world (db, cache, lock, bus…), built from config.

``[adapters.<kind>.<alias>] driver = "<name>"`` plus driver options; the driver registry supplies
the factory. The kernel connects every adapter between ``mega_before_boot`` and
``mega_after_boot`` and closes them after ``mega_before_shutdown``.
"""

import asyncio
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from .errors import MegaConfigError, MegaLifecycleError, MegaNotFoundError
from .spec import NoConfig

if TYPE_CHECKING:
    from .config import Config
    from .registry import Registry

#: the kinds of mega's own plugins and kernel; plugins declare kinds with
#: ``registry.adapter_kind`` (``registry.adapter_kinds`` holds an app's declared kinds)
ADAPTER_KINDS = ("db", "cache", "session", "lock", "bus", "log-sink", "presence")
DEFAULT_ALIAS = "default"


@runtime_checkable
class Adapter(Protocol):
    """What every adapter instance implements. ``connect`` may be called once, ``close`` once."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...


class AdapterDriver:
    """A registered driver: ``factory(alias=..., options=...)`` builds an adapter.

    (A plain class with ``__slots__``, as the kernel's other records: see discovery.py.)
    """

    __slots__ = ("description", "factory", "kind", "name", "options")

    def __init__(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        options: type[BaseModel] | None = None,
        description: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.factory = factory
        #: the model ``[adapters.<kind>.<alias>]`` options are validated with (None: no options)
        self.options = options
        self.description = description

    def __repr__(self) -> str:
        return f"AdapterDriver({self.kind!r}, {self.name!r}, {self.factory!r})"


class Adapters:
    """The adapter instances of one app, by kind and alias."""

    def __init__(
        self,
        instances: dict[tuple[str, str], Any],
        options: dict[tuple[str, str], dict[str, Any]] | None = None,
    ) -> None:
        self._instances = instances
        self._options = options or {}
        self._connected: list[tuple[str, str]] = []

    def options(self, kind: str, alias: str) -> dict[str, Any]:
        """The keys of ``[adapters.<kind>.<alias>]`` that plugins declared
        (``registry.adapter_option``), as configured."""
        return dict(self._options.get((kind, alias), {}))

    def replace(self, kind: str, alias: str, adapter: Any) -> None:
        """Put ``adapter`` in the place of ``[adapters.<kind>.<alias>]`` (before boot connects
        it: ``mega_wrap_adapter``)."""
        if (kind, alias) not in self._instances:
            raise KeyError((kind, alias))
        self._instances[(kind, alias)] = adapter

    @classmethod
    def build(
        cls, config: "Config", registry: "Registry"
    ) -> "tuple[Adapters, list[MegaConfigError]]":
        """Validate every ``[adapters.*.*]`` table and build (not connect) its adapter."""
        from .config import validation_problems

        instances: dict[tuple[str, str], Any] = {}
        extras: dict[tuple[str, str], dict[str, Any]] = {}
        declared_options = set(registry.adapter_options)
        problems: list[MegaConfigError] = []
        for kind, aliases in config.adapters.items():
            try:
                declared = registry.declared_kind(kind)
            except MegaConfigError as exc:
                problems.append(exc)
                continue
            drivers = registry.driver_registry(kind)
            for alias, table in aliases.items():
                where = f"[adapters.{kind}.{alias}]"
                name = table.get("driver")
                if not isinstance(name, str) or not name:
                    problems.append(
                        MegaConfigError(
                            "adapter.missing_driver",
                            f'{where} needs `driver = "<name>"`; registered {kind} drivers: '
                            f"{', '.join(drivers) or '(none: enable a plugin that provides one)'}",
                            {"kind": kind, "alias": alias},
                        )
                    )
                    continue
                if name not in drivers and name in drivers.reserved:
                    problems.append(
                        MegaConfigError(
                            "driver.not_enabled",
                            f"{where}: {name!r} is one of mega's builtin {kind} drivers, but the "
                            "plugin that provides it is not enabled; add it to [app].plugins "
                            "(`mega plugins` lists what is installed)",
                            {"kind": kind, "alias": alias, "driver": name},
                        )
                    )
                    continue
                try:
                    driver = drivers.get(name)
                except MegaConfigError as exc:
                    problems.append(exc)
                    continue
                model = driver.options or NoConfig  # no options model: no keys allowed
                # keys plugins declared (registry.adapter_option) are theirs, not the driver's
                raw = {
                    k: v for k, v in table.items() if k != "driver" and k not in declared_options
                }
                extra = {k: v for k, v in table.items() if k in declared_options}
                try:
                    options = model.model_validate(raw)
                except ValidationError as exc:
                    problems.extend(
                        validation_problems(exc, ("adapters", kind, alias), model, config)
                    )
                    continue
                try:
                    instance = driver.factory(alias=alias, options=options)
                except Exception as exc:
                    problems.append(
                        MegaConfigError(
                            "adapter.build_failed",
                            f"{where}: driver {name!r} failed to build the adapter: "
                            f"{type(exc).__name__}: {exc}",
                            {"kind": kind, "alias": alias, "driver": name, "cause": repr(exc)},
                        )
                    )
                    continue
                missing = _missing_members(instance, declared.protocol)
                if missing:
                    problems.append(
                        MegaConfigError(
                            "adapter.contract",
                            f"{where}: driver {name!r} ({driver.factory!r}) does not implement "
                            f"the {kind} contract: missing {', '.join(missing)}",
                            {"kind": kind, "alias": alias, "driver": name, "missing": missing},
                        )
                    )
                    continue
                instances[(kind, alias)] = instance
                if extra:
                    extras[(kind, alias)] = extra
        return cls(instances, extras), problems

    def get(self, kind: str, alias: str = DEFAULT_ALIAS) -> Any:
        """The adapter ``[adapters.<kind>.<alias>]``; an unknown alias names the configured ones."""
        try:
            return self._instances[(kind, alias)]
        except KeyError:
            configured = sorted(a for k, a in self._instances if k == kind)
            raise MegaNotFoundError(
                "adapter.unknown_alias",
                f"no {kind} adapter with alias {alias!r}; configured {kind} aliases: "
                f"{', '.join(configured) or '(none)'}. Add [adapters.{kind}.{alias}] with a "
                "driver to mega.toml",
                {"kind": kind, "alias": alias, "configured": configured},
            ) from None

    def items(self) -> list[tuple[tuple[str, str], Any]]:
        return sorted(self._instances.items())

    async def connect_all(self) -> None:
        """Connect every adapter concurrently; on a failure, close those that connected."""
        keys = list(self._instances)
        results = await asyncio.gather(
            *(self._instances[k].connect() for k in keys), return_exceptions=True
        )
        failed = [
            (k, r) for k, r in zip(keys, results, strict=True) if isinstance(r, BaseException)
        ]
        self._connected = [
            k for k, r in zip(keys, results, strict=True) if not isinstance(r, BaseException)
        ]
        if failed:
            await self.close_all()
            (kind, alias), exc = failed[0]
            raise MegaLifecycleError(
                "adapter.connect_failed",
                f"[adapters.{kind}.{alias}] failed to connect: {type(exc).__name__}: {exc}",
                {"failed": [f"{k}.{a}: {e!r}" for (k, a), e in failed]},
            ) from exc

    async def close_all(self, *, timeout_s: float = 5.0) -> list[tuple[str, BaseException]]:
        """Close connected adapters in reverse order, each within ``timeout_s``.

        Every adapter gets its turn; the errors are returned, not raised.
        """
        errors: list[tuple[str, BaseException]] = []
        while self._connected:
            kind, alias = self._connected.pop()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._instances[(kind, alias)].close()
            except TimeoutError:
                errors.append(
                    (
                        f"adapter {kind}.{alias} close",
                        TimeoutError(f"close took longer than {timeout_s:.1f} s"),
                    )
                )
            except Exception as exc:
                errors.append((f"adapter {kind}.{alias} close", exc))
        return errors


def _missing_members(instance: Any, protocol: type | None) -> list[str]:
    """The members of ``protocol`` (and of ``Adapter``) that ``instance`` lacks."""
    wanted = ["connect", "close"]
    for base in protocol.__mro__ if protocol is not None else ():
        if base in (Protocol, object) or not getattr(base, "_is_protocol", False):
            continue
        names = [*vars(base), *getattr(base, "__annotations__", {})]
        wanted += sorted(n for n in names if not n.startswith("_"))
    return [m for m in dict.fromkeys(wanted) if not hasattr(instance, m)]


def import_driver(module: str, *, extra: str, what: str) -> ModuleType:
    """Import a driver library lazily; when missing, say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MegaConfigError(
            "driver.missing_extra",
            f"{what} needs the Python package {module!r}, which is not installed; install it "
            f"with: pip install 'mega-framework[{extra}]'",
            {"module": module, "extra": extra},
        ) from exc
