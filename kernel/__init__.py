"""mega: a Python application framework built as a plugin microkernel.

Import the public API from here (``from mega import App, PluginSpec, hookimpl``). Names resolve
lazily so that ``mega --help`` imports nothing it does not print.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "App": ".app",
    "Ctx": ".ctx",
    "Config": ".config",
    "AppSettings": ".config",
    "load_config": ".config",
    "PluginSpec": ".spec",
    "PluginConfig": ".spec",
    "hookimpl": ".hookspecs",
    "hookspec": ".hookspecs",
    "Adapter": ".adapters",
    "AdapterDriver": ".adapters",
    "import_driver": ".adapters",
    "PluginRegistry": ".registry",
    "Owner": ".registry",
    "MegaError": ".errors",
    "MegaConfigError": ".errors",
    "MegaProblems": ".errors",
    "MegaLifecycleError": ".errors",
    "MegaShutdownError": ".errors",
    "MegaNotFoundError": ".errors",
    "MegaValidationError": ".errors",
    "run_until_signal": ".runner",
    "Lock": ".locks",
    "Held": ".locks",
    "LockBusy": ".locks",
    "LockBackendError": ".locks",
    "Events": ".events",
    "Event": ".events",
    "get_logger": ".log",
    "Progress": ".cli.progress",
    "Hooks": ".hooks",
    "nest": ".hooks",
    "fan_out": ".hooks",
    "project_app": ".project",
    "find_project_root": ".config",
    "Cache": ".contracts",
    "cache_count": ".contracts",
    "SessionStore": ".contracts",
    "LockAdapter": ".contracts",
    "LogSink": ".contracts",
    "AdapterKind": ".registry",
    "CtxAttributeError": ".ctx",
    "DEFAULT_ALIAS": ".adapters",
    "check_ttl": ".locks",
    "MIN_TTL_MS": ".locks",
    "set_log_context": ".log",
    "reset_log_context": ".log",
    "bind_log_context": ".log",
    "discover_classes": ".appmodules",
    "import_app_modules": ".appmodules",
    "scaffolds_dir": ".kernel_generators",
    "Listener": ".events",
}

__all__ = [
    "DEFAULT_ALIAS",
    "MIN_TTL_MS",
    "Adapter",
    "AdapterDriver",
    "AdapterKind",
    "App",
    "AppSettings",
    "Cache",
    "Config",
    "Ctx",
    "CtxAttributeError",
    "Event",
    "Events",
    "Held",
    "Hooks",
    "Listener",
    "Lock",
    "LockAdapter",
    "LockBackendError",
    "LockBusy",
    "LogSink",
    "MegaConfigError",
    "MegaError",
    "MegaLifecycleError",
    "MegaNotFoundError",
    "MegaProblems",
    "MegaShutdownError",
    "MegaValidationError",
    "Owner",
    "PluginConfig",
    "PluginRegistry",
    "PluginSpec",
    "Progress",
    "SessionStore",
    "__version__",
    "bind_log_context",
    "cache_count",
    "check_ttl",
    "discover_classes",
    "fan_out",
    "find_project_root",
    "get_logger",
    "hookimpl",
    "hookspec",
    "import_app_modules",
    "import_driver",
    "load_config",
    "nest",
    "project_app",
    "reset_log_context",
    "run_until_signal",
    "scaffolds_dir",
    "set_log_context",
]

if TYPE_CHECKING:
    from .adapters import DEFAULT_ALIAS, Adapter, AdapterDriver, import_driver
    from .app import App
    from .appmodules import discover_classes, import_app_modules
    from .cli.progress import Progress
    from .config import AppSettings, Config, find_project_root, load_config
    from .contracts import Cache, LockAdapter, LogSink, SessionStore, cache_count
    from .ctx import Ctx, CtxAttributeError
    from .errors import (
        MegaConfigError,
        MegaError,
        MegaLifecycleError,
        MegaNotFoundError,
        MegaProblems,
        MegaShutdownError,
        MegaValidationError,
    )
    from .events import Event, Events, Listener
    from .hooks import Hooks, fan_out, nest
    from .hookspecs import hookimpl, hookspec
    from .kernel_generators import scaffolds_dir
    from .locks import MIN_TTL_MS, Held, Lock, LockBackendError, LockBusy, check_ttl
    from .log import bind_log_context, get_logger, reset_log_context, set_log_context
    from .project import project_app
    from .registry import AdapterKind, Owner, PluginRegistry
    from .runner import run_until_signal
    from .spec import PluginConfig, PluginSpec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mega' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
