"""Registries of named things plugins contribute, with reserved builtin names.

Every registry knows its builtin names. Only plugins shipped in the ``mega-framework``
distribution may register a reserved name; anyone registering a taken name fails at
registration time, and the error names the name and both owners.
"""

# No `from __future__ import annotations` here: with it, typing.NamedTuple compiles a
# ForwardRef per field at import (41 compile() calls at boot, measured in bench/boot.py). Only
# Owner (compared, hashed) stays a NamedTuple; the other records are plain classes with __slots__,
# several times cheaper to define (see discovery.py).

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel

from . import __version__
from .adapters import AdapterDriver
from .contracts import KERNEL_KINDS
from .discovery import FRAMEWORK_DISTRIBUTION, unknown_name_error
from .errors import MegaConfigError

if TYPE_CHECKING:
    from .generators import GeneratorDef

T = TypeVar("T")
#: an adapter kind's or option's name (matched with re's own cache: compiled on first use)
_KIND = r"[a-z][a-z0-9-]*"
#: what ``Ctx`` holds itself (slots), which no plugin may shadow
_CTX_OWN = frozenset({"app", "log"})

#: Builtin generator name -> the first-party plugin that provides it ("kernel": always there).
BUILTIN_GENERATORS: dict[str, str] = {
    "app": "kernel",
    "service": "kernel",
    "adapter": "kernel",
    "adr": "kernel",
    "controller": "http",
    "middleware": "http",
    "route": "http",
    "locale": "http",
    "channel": "ws",
    "model": "db",
    "migration": "db",
    "schedule": "schedule",
    "job": "jobs",
    "worker": "jobs",
}
#: The names first-party plugins register (tests/test_meta.py checks these against what they
#: do register): only mega's own distribution may use them, so a third-party plugin can never
#: take the meaning of a name the docs give.
BUILTIN_DIALECTS = frozenset({"sqlite", "postgres", "maria", "mongo"})
BUILTIN_DRIVERS: dict[str, frozenset[str]] = {
    "db": frozenset({"sqlite", "postgres", "maria", "mongo"}),
    "cache": frozenset({"memory", "file", "redis"}),
    "session": frozenset({"memory", "file", "redis"}),
    "lock": frozenset({"sqlite", "redis", "postgres"}),
    "bus": frozenset({"local", "nats"}),
    "log-sink": frozenset({"file", "telegram"}),
    "presence": frozenset({"local", "nats", "redis"}),
}
#: adapter kinds first-party plugins declare, and the plugin that declares each (for the hint
#: when one is configured while its plugin is not enabled)
BUILTIN_KINDS: dict[str, str] = {"presence": "ws"}
#: the kernel's own commands (mega.cli.KERNEL_COMMANDS) and those first-party plugins register
BUILTIN_COMMANDS = frozenset(
    {"new", "g", "run", "plugins", "console", "dev", "test"}
    | {"serve", "routes", "worker", "jobs", "migrate", "schedule"}
)


class AdapterKind:
    """A declared adapter kind: ``[adapters.<name>.*]`` tables build adapters of it."""

    __slots__ = ("description", "name", "owner", "protocol")

    def __init__(self, name: str, protocol: type | None, description: str, owner: "Owner") -> None:
        self.name = name
        #: what every adapter of the kind implements (a ``typing.Protocol``, runtime-checkable);
        #: checked when the adapter is built
        self.protocol = protocol
        self.description = description
        self.owner = owner

    def __repr__(self) -> str:
        return f"AdapterKind({self.name!r}, {self.protocol!r}, owner={self.owner})"


class Owner(NamedTuple):
    """Who registered something: a plugin and the distribution that shipped it."""

    plugin: str
    distribution: str
    version: str

    @property
    def first_party(self) -> bool:
        return self.distribution == FRAMEWORK_DISTRIBUTION

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.distribution} {self.version})"


class CommandDef:
    """A CLI command a plugin adds: a typer app (a command group) or a function."""

    __slots__ = ("help", "name", "target")

    def __init__(self, name: str, target: Any, help: str | None = None) -> None:
        self.name = name
        self.target = target
        self.help = help


class Entry(Generic[T]):
    """A registered value and who registered it."""

    __slots__ = ("owner", "value")

    def __init__(self, value: T, owner: Owner) -> None:
        self.value = value
        self.owner = owner


class NameRegistry(Generic[T]):
    """Names to values for one kind of thing (``generator``, ``dialect``, ``db driver``, …)."""

    def __init__(self, kind: str, code: str, reserved: frozenset[str]) -> None:
        self.kind = kind
        self._code = code
        self.reserved = reserved
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, value: T, owner: Owner) -> None:
        self.check(name, owner)
        self._entries[name] = Entry(value, owner)

    def check(self, name: str, owner: Owner) -> None:
        """Raise unless ``owner`` may register ``name``: not reserved for mega, not taken."""
        if not isinstance(name, str) or not name:
            raise MegaConfigError(
                "plugin.invalid_name",
                f"{owner} registered a {self.kind} with name {name!r}; names are non-empty strings",
                {"kind": self.kind, "name": name, "owner": str(owner)},
            )
        if name in self.reserved and not owner.first_party:
            raise MegaConfigError(
                f"plugin.builtin_{self._code}_conflict",
                f"{self.kind} name {name!r} is reserved for mega's builtin {self.kind}; "
                f"{owner} must pick another name",
                {"kind": self.kind, "name": name, "owner": str(owner)},
            )
        if name in self._entries:
            first = self._entries[name].owner
            raise MegaConfigError(
                f"plugin.duplicate_{self._code}",
                f"{self.kind} {name!r} is registered twice: first by {first}, again by "
                f"{owner}; disable one of the two plugins or rename one {self.kind}",
                {"kind": self.kind, "name": name, "owners": [str(first), str(owner)]},
            )

    def get(self, name: str) -> T:
        try:
            return self._entries[name].value
        except KeyError:
            raise unknown_name_error(
                self.kind,
                name,
                sorted(self._entries),
                code=f"{self._code}.unknown",
                hint=f"enable the plugin that registers this {self.kind} in [app].plugins",
            ) from None

    def owner_of(self, name: str) -> Owner:
        return self._entries[name].owner

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> list[tuple[str, Entry[T]]]:
        return sorted(self._entries.items())


KERNEL_OWNER = Owner("kernel", FRAMEWORK_DISTRIBUTION, __version__)


class Registry:
    """Every registry of one app."""

    def __init__(self) -> None:
        self._generators: NameRegistry[GeneratorDef] = NameRegistry(
            "generator", "generator", frozenset(BUILTIN_GENERATORS)
        )
        self._kernel_generators_added = False
        self.dialects: NameRegistry[Any] = NameRegistry("dialect", "dialect", BUILTIN_DIALECTS)
        self.drivers: dict[str, NameRegistry[AdapterDriver]] = {}
        self.adapter_kinds: dict[str, AdapterKind] = {
            kind: AdapterKind(kind, protocol, description, KERNEL_OWNER)
            for kind, (protocol, description) in KERNEL_KINDS.items()
        }
        #: keys plugins allow in every ``[adapters.<kind>.<alias>]`` table: key -> what it does
        self.adapter_options: NameRegistry[str] = NameRegistry(
            "adapter option", "adapter_option", frozenset()
        )
        #: ``ctx.<name>`` attributes plugins add: name -> getter(app)
        self.ctx_attributes: NameRegistry[Callable[[Any], Any]] = NameRegistry(
            "ctx attribute", "ctx_attribute", frozenset()
        )
        self.commands: NameRegistry[CommandDef] = NameRegistry(
            "command", "command", BUILTIN_COMMANDS
        )
        self._contributions: dict[str, NameRegistry[Any]] = {}
        #: plugin name -> what it registered, as ``"<kind> <name>"`` strings (for `mega plugins`).
        self.by_plugin: dict[str, list[str]] = {}

    @property
    def generators(self) -> NameRegistry["GeneratorDef"]:
        """Generators by name; the kernel's own are added on first access.

        Booting an app never needs them, and adding them costs an import and template checks
        (about 1 ms of the boot budget in bench/boot.py).
        """
        if not self._kernel_generators_added:
            self._kernel_generators_added = True
            from .kernel_generators import register_kernel_generators

            register_kernel_generators(self.for_plugin(KERNEL_OWNER, Path(__file__).parent))
        return self._generators

    def for_plugin(self, owner: Owner, base_dir: Path) -> "PluginRegistry":
        return PluginRegistry(self, owner, base_dir)

    def contributions(self, kind: str) -> NameRegistry[Any]:
        """What plugins contributed under ``kind`` (``"route"``, ``"health-check"``…).

        For registries the kernel does not know: the plugin that consumes ``kind`` reads it here
        after registration; a name contributed twice fails naming both owners.
        """
        found = self._contributions.get(kind)
        if found is None:
            found = self._contributions[kind] = NameRegistry(
                kind, kind.replace("-", "_"), frozenset()
            )
        return found

    def driver_registry(self, kind: str) -> NameRegistry[AdapterDriver]:
        """The drivers registered for ``kind`` (declared or not: a plugin may ship drivers for
        a kind another plugin declares, and that plugin may not be enabled)."""
        found = self.drivers.get(kind)
        if found is None:
            reserved = BUILTIN_DRIVERS.get(kind, frozenset())
            found = self.drivers[kind] = NameRegistry(f"{kind} driver", "driver", reserved)
        return found

    def declared_kind(self, kind: str) -> AdapterKind:
        """The declared adapter kind ``kind``; an undeclared one fails naming the declared."""
        try:
            return self.adapter_kinds[kind]
        except KeyError:
            owner = BUILTIN_KINDS.get(kind)
            hint = (
                f"the {owner!r} plugin declares it: add {owner!r} to [app].plugins"
                if owner is not None
                else "enable the plugin that declares it (`mega plugins` lists what is installed)"
            )
            raise unknown_name_error(
                "adapter kind",
                kind,
                sorted(self.adapter_kinds),
                code="adapter.unknown_kind",
                hint=hint,
            ) from None


class PluginRegistry:
    """What ``mega_register(registry)`` receives: the registries, bound to the calling plugin."""

    __slots__ = ("_registry", "base_dir", "owner", "registered")

    def __init__(self, registry: Registry, owner: Owner, base_dir: Path) -> None:
        self._registry = registry
        self.owner = owner
        self.base_dir = base_dir
        #: what this plugin registered, as ``"<kind> <name>"`` strings
        self.registered = registry.by_plugin.setdefault(owner.plugin, [])

    def generator(
        self,
        name: str,
        *,
        dir: str | Path,
        files: list[dict[str, str]],
        description: str = "",
        extra_tokens: Callable[[Path, dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        """Register a ``mega g <name>`` generator.

        ``dir`` holds the templates (relative paths are relative to the plugin's package);
        each ``files`` entry is ``{"path": <output path>, "template": <file in dir>}``. Both
        the output path and the template may use the tokens ``Name``, ``name``, ``camelName``,
        ``snake`` and ``app``, as ``{{ Name }}``. ``extra_tokens(project_root, tokens)`` may
        add tokens computed when the generator runs (e.g. the next ADR number).
        """
        from .generators import GeneratorDef

        self._registry.generators.check(name, self.owner)  # a name clash says more than a shape
        definition = GeneratorDef.build(
            name,
            dir=dir,
            files=files,
            description=description,
            base_dir=self.base_dir,
            owner=str(self.owner),
            extra_tokens=extra_tokens,
        )
        self._add(self._registry.generators, name, definition)

    def dialect(self, name: str, dialect: Any) -> None:
        """Register a database dialect under ``name``."""
        self._add(self._registry.dialects, name, dialect)

    def adapter_driver(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        options: type[BaseModel] | None = None,
        description: str = "",
    ) -> None:
        """Register a driver for ``[adapters.<kind>.<alias>] driver = "<name>"``.

        ``factory(alias=..., options=...)`` builds the adapter; ``options`` is the pydantic model
        that validates the table (without its ``driver`` key) at boot.
        """
        registry = self._registry.driver_registry(kind)
        if not callable(factory):
            raise MegaConfigError(
                "plugin.invalid_driver",
                f"{self.owner} registered {kind} driver {name!r} with factory {factory!r}, "
                "which is not callable; pass the adapter class",
                {"kind": kind, "name": name},
            )
        self._add(registry, name, AdapterDriver(kind, name, factory, options, description))

    def command(self, name: str, command: Any, *, help: str | None = None) -> None:
        """Add ``mega <name>``: a ``typer.Typer`` (a command group) or a function."""
        if not callable(command):
            raise MegaConfigError(
                "plugin.invalid_command",
                f"{self.owner} registered command {name!r} with {command!r}; pass a function "
                "or a typer.Typer",
                {"name": name},
            )
        self._add(self._registry.commands, name, CommandDef(name, command, help))

    def adapter_kind(
        self, kind: str, *, protocol: type | None = None, description: str = ""
    ) -> None:
        """Declare the adapter kind ``kind`` (``[adapters.<kind>.<alias>]``): drivers any plugin
        registers for it become configurable, and each adapter built is checked against
        ``protocol`` (a ``typing.Protocol``: every member it declares must be there) when the
        app is built."""
        if not isinstance(kind, str) or not re.fullmatch(_KIND, kind):
            raise MegaConfigError(
                "plugin.invalid_name",
                f"{self.owner} declared adapter kind {kind!r}; use lower-case letters, digits "
                "and '-', starting with a letter",
                {"kind": kind},
            )
        known = self._registry.adapter_kinds.get(kind)
        if known is not None:
            raise MegaConfigError(
                "plugin.duplicate_adapter_kind",
                f"adapter kind {kind!r} is declared twice: first by {known.owner}, again by "
                f"{self.owner}; a kind has one contract — register drivers for it instead",
                {"kind": kind, "owners": [str(known.owner), str(self.owner)]},
            )
        if BUILTIN_KINDS.get(kind, self.owner.plugin) != self.owner.plugin:
            raise MegaConfigError(
                "plugin.builtin_adapter_kind_conflict",
                f"adapter kind {kind!r} is reserved for mega's {BUILTIN_KINDS[kind]!r} plugin; "
                f"{self.owner} must pick another name",
                {"kind": kind, "owner": str(self.owner)},
            )
        self._registry.adapter_kinds[kind] = AdapterKind(kind, protocol, description, self.owner)
        self.registered.append(f"adapter kind {kind}")

    def adapter_option(self, key: str, description: str) -> None:
        """Allow ``key`` in every ``[adapters.<kind>.<alias>]`` table, whatever its driver: it is
        taken out before the driver's options validate the rest, and handed to
        ``mega_wrap_adapter`` (the breaker plugin's ``breaker = "<name>"``)."""
        if key in ("driver",) or not re.fullmatch(_KIND, key or ""):
            raise MegaConfigError(
                "plugin.invalid_name",
                f"{self.owner} declared adapter option {key!r}; use lower-case letters, digits "
                "and '-', starting with a letter (and not 'driver')",
                {"key": key},
            )
        self._add(self._registry.adapter_options, key, description)

    def ctx_attribute(self, name: str, getter: Callable[[Any], Any]) -> None:
        """Add ``ctx.<name>``: ``getter(app)`` gives its value (``ctx.jobs`` is the jobs
        plugin's ``registry.ctx_attribute("jobs", lambda app: app.extensions["jobs"])``).
        A name ``Ctx`` already has, or another plugin added, fails naming both."""
        from .ctx import Ctx

        if name in _CTX_OWN or hasattr(Ctx, name) or name.startswith("_"):
            raise MegaConfigError(
                "plugin.builtin_ctx_attribute_conflict",
                f"ctx.{name} is the kernel's own; {self.owner} must pick another name",
                {"name": name, "owner": str(self.owner)},
            )
        self._add(self._registry.ctx_attributes, name, getter)

    def contribute(self, kind: str, name: str, value: Any) -> None:
        """Deprecated: implement the consuming plugin's declared hook instead (e.g.
        ``mega_http_routes`` for routes, ``mega_health_checks`` for readiness checks).

        Adds ``value`` under ``name`` to the ``kind`` registry another plugin consumes."""
        warnings.warn(
            f"registry.contribute({kind!r}, ...) by {self.owner} is deprecated and goes in the "
            "next release: implement the consuming plugin's hook instead (docs/plugins.md, "
            "Extension points)",
            DeprecationWarning,
            stacklevel=2,
        )
        self._add(self._registry.contributions(kind), name, value)

    def _add(self, registry: NameRegistry[T], name: str, value: T) -> None:
        registry.add(name, value, self.owner)
        self.registered.append(f"{registry.kind} {name}")
