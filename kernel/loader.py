"""From a ``Config`` to registered plugins: resolve, import, order, validate, register.

``load_plugins`` runs these phases. In boot mode a phase with problems raises them all at once; in
check mode (``mega plugins check``) every phase runs on whatever the earlier ones could load, and
all problems are returned together.
"""

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .adapters import Adapters
from .config import Config, env_spellings, validation_problems
from .discovery import Catalog, LoadedPlugin, load
from .errors import MegaConfigError, MegaProblems
from .log import get_logger
from .ordering import order_plugins
from .pluginmanager import MegaPluginManager, hook_prefix
from .registry import Owner, Registry
from .spec import PluginConfig


class LoadedApp:
    """Everything built from config before boot (a plain class: see discovery.py's records)."""

    __slots__ = (
        "adapters",
        "catalog",
        "config",
        "plugin_configs",
        "plugins",
        "pm",
        "problems",
        "registry",
    )

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        plugins: list[LoadedPlugin],
        plugin_configs: dict[str, PluginConfig],
        pm: MegaPluginManager,
        registry: Registry,
        adapters: Adapters,
        problems: list[MegaConfigError],
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.plugins = plugins
        self.plugin_configs = plugin_configs
        self.pm = pm
        self.registry = registry
        self.adapters = adapters
        self.problems = problems


def load_plugins(
    config: Config, *, catalog: Catalog | None = None, collect: bool = False
) -> LoadedApp:
    """Run every load phase; raise on problems unless ``collect`` (then see ``.problems``)."""
    catalog = catalog if catalog is not None else Catalog.scan()
    problems: list[MegaConfigError] = []

    def phase_done() -> None:
        if not collect:
            MegaProblems.raise_if_any(problems)

    # 1. every installed name is shipped once; every enabled name is installed, listed once.
    if collect:
        problems += catalog.duplicate_errors()
    entries = []
    seen: set[str] = set()
    for name in config.app.plugins:
        if name in seen:
            problems.append(
                MegaConfigError(
                    "config.duplicate_plugin",
                    f"plugin {name!r} is listed twice in [app].plugins; list it once",
                    {"plugin": name},
                )
            )
            continue
        seen.add(name)
        try:
            entries.append(catalog.resolve(name))
        except MegaConfigError as exc:
            # check mode already reported every duplicated name, enabled or not
            if not (collect and exc.code == "plugin.duplicate_name"):
                problems.append(exc)
    problems += _stray_tables(config, catalog)
    phase_done()

    # 2. import enabled plugins (only those) and check their specs.
    loaded: dict[str, LoadedPlugin] = {}
    for entry in entries:
        try:
            loaded[entry.name] = load(entry)
        except MegaConfigError as exc:
            problems.append(exc)
    phase_done()

    # 3. order by requires/provides; ties keep config order.
    ordered_specs, order_problems = order_plugins([p.spec for p in loaded.values()])
    problems += order_problems
    plugins = [loaded[s.name] for s in ordered_specs]
    phase_done()

    # 4. validate each plugin's [plugins.<name>] table with its model.
    plugin_configs: dict[str, PluginConfig] = {}
    for plugin in plugins:
        model = plugin.spec.config
        try:
            plugin_configs[plugin.name] = model.model_validate(config.plugins.get(plugin.name, {}))
        except ValidationError as exc:
            problems += validation_problems(exc, ("plugins", plugin.name), model, config)
    phase_done()

    # 5. add declared hookspecs, register hooks (unknown hooks fail), call mega_register.
    pm = MegaPluginManager()
    registry = Registry()
    # every enabled plugin's extension points first, so that implementing a hook does not
    # depend on the order plugins are listed in
    for plugin in plugins:
        if plugin.spec.hooks is not None:
            try:
                pm.add_plugin_hooks(plugin.name, plugin.spec.hooks, plugin.installed.origin)
            except MegaConfigError as exc:
                problems.append(exc)
    enabled = {p.name for p in plugins}
    dormant = frozenset(hook_prefix(n) for n in catalog.names if n not in enabled)
    for plugin in plugins:
        try:
            pm.register_plugin(plugin.name, plugin.module, plugin.installed.origin, dormant=dormant)
            owner = Owner(plugin.name, plugin.installed.distribution, plugin.version)
            view = registry.for_plugin(owner, _package_dir(plugin))
            pm.call_one("mega_register", plugin.module, registry=view)
        except MegaConfigError as exc:
            problems.append(exc)
        except Exception as exc:
            problems.append(
                MegaConfigError(
                    "plugin.register_failed",
                    f"plugin {plugin.name!r} ({plugin.installed.origin}) raised in mega_register: "
                    f"{type(exc).__name__}: {exc}",
                    {"plugin": plugin.name, "cause": repr(exc)},
                )
            )
    phase_done()

    # 6. validate [adapters.*.*] against the registered drivers and build the adapters.
    adapters, adapter_problems = Adapters.build(config, registry)
    problems += adapter_problems
    phase_done()
    return LoadedApp(config, catalog, plugins, plugin_configs, pm, registry, adapters, problems)


def _stray_tables(config: Config, catalog: Catalog) -> list[MegaConfigError]:
    """``[plugins.x]`` for a plugin that is not installed is an error; not enabled, a warning."""
    problems = []
    enabled = set(config.app.plugins)
    for name in config.plugins:
        if name in enabled:
            continue
        sources = config.sources_under(("plugins", name))
        source = ", ".join(sources)
        installed = name if name in catalog.names else None
        if installed is None and config.set_by_environment(("plugins", name)):
            # MEGA__PLUGINS__ACME_AUDIT__… for acme-audit: load_config maps it for enabled
            # plugins only; for a disabled one it is the same harmless table
            spelled = env_spellings(name, catalog.names)
            installed = spelled[0] if len(spelled) == 1 else None
        if installed is not None:
            get_logger().warning(
                "config.table_for_disabled_plugin",
                plugin=installed,
                source=source,
                hint=f"add {installed!r} to [app].plugins, or remove [plugins.{name}] "
                f"from {source}",
            )
            continue
        suggestions = _close_names(name, catalog.names)
        hint = f" (did you mean {' or '.join(map(repr, suggestions))}?)" if suggestions else ""
        problems.append(
            MegaConfigError(
                "config.unknown_plugin_table",
                f"config table [plugins.{name}] (from {source}) names no installed plugin{hint}; "
                f"installed: {', '.join(catalog.names) or '(none)'}. Fix the name where it is "
                "set, or install the plugin",
                {
                    "table": f"plugins.{name}",
                    "source": source,
                    "sources": sources,
                    "suggestions": suggestions,
                    "installed": catalog.names,
                },
            )
        )
    return problems


def _close_names(name: str, installed: list[str]) -> list[str]:
    """Installed names close to ``name``, nearest first; ``_`` and ``-`` count as equal."""
    import difflib

    by_key: dict[str, list[str]] = {}
    for known in installed:
        by_key.setdefault(known.lower().replace("_", "-"), []).append(known)
    close = difflib.get_close_matches(name.lower().replace("_", "-"), list(by_key), n=3)
    return [known for key in close for known in by_key[key]]


def _package_dir(plugin: LoadedPlugin) -> Path:
    module_file: Any = getattr(plugin.module, "__file__", None)
    return Path(module_file).parent if module_file else Path.cwd()
