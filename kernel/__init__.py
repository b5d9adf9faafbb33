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
}

__all__ = [
    "Adapter",
    "AdapterDriver",
    "App",
    "AppSettings",
    "Config",
    "Ctx",
    "Event",
    "Events",
    "Held",
    "Lock",
    "LockBackendError",
    "LockBusy",
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
    "__version__",
    "get_logger",
    "hookimpl",
    "hookspec",
    "import_driver",
    "load_config",
    "run_until_signal",
]

if TYPE_CHECKING:
    from .adapters import Adapter, AdapterDriver, import_driver
    from .app import App
    from .config import AppSettings, Config, load_config
    from .ctx import Ctx
    from .errors import (
        MegaConfigError,
        MegaError,
        MegaLifecycleError,
        MegaNotFoundError,
        MegaProblems,
        MegaShutdownError,
        MegaValidationError,
    )
    from .events import Event, Events
    from .hookspecs import hookimpl, hookspec
    from .locks import Held, Lock, LockBackendError, LockBusy
    from .log import get_logger
    from .registry import Owner, PluginRegistry
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
