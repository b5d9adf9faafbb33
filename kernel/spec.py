"""What a plugin declares about itself: ``PluginSpec``, and the base of its config model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType

from pydantic import BaseModel, ConfigDict

from .errors import MegaConfigError

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class PluginConfig(BaseModel):
    """Base for a plugin's ``[plugins.<name>]`` table.

    Unknown keys are rejected (a typo must not be ignored) and the validated config is frozen.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoConfig(PluginConfig):
    """The config model of a plugin that takes no settings: any key in its table is an error."""


@dataclass(frozen=True, slots=True)
class PluginSpec:
    """A plugin's declaration, exposed by its module as ``plugin = PluginSpec(...)``.

    ``name`` must equal the entry point name. ``requires`` lists capability names other enabled
    plugins must ``provide``; the kernel orders lifecycle hooks by them. Every plugin implicitly
    provides its own name. ``config`` validates the ``[plugins.<name>]`` table at boot.
    ``version`` defaults to the version of the distribution that ships the plugin. ``hooks``
    declares the plugin's extension points (docs/plugins.md, "Extension points").
    """

    name: str
    description: str = ""
    version: str | None = None
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    config: type[PluginConfig] = NoConfig
    #: the plugin's extension points: a module or class of ``@mega.hookspec`` functions named
    #: ``mega_<plugin>_<what>`` that other plugins implement (see kernel/hooks.py)
    hooks: ModuleType | type | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise MegaConfigError(
                "plugin.invalid_name",
                f"plugin name {self.name!r} is invalid: use lower-case letters, digits, '-' "
                "or '_', starting with a letter",
                {"name": self.name},
            )
        for attr in ("requires", "provides"):
            value = getattr(self, attr)
            if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
                raise MegaConfigError(
                    "plugin.invalid_spec",
                    f"plugin {self.name!r}: {attr} must be a tuple of non-empty capability "
                    f"names, got {value!r}",
                    {"plugin": self.name, attr: value},
                )
            object.__setattr__(self, attr, tuple(value))
        if not (isinstance(self.config, type) and issubclass(self.config, BaseModel)):
            raise MegaConfigError(
                "plugin.invalid_spec",
                f"plugin {self.name!r}: config must be a pydantic model class (subclass "
                f"mega.PluginConfig), got {self.config!r}",
                {"plugin": self.name},
            )

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Everything this plugin satisfies: its own name plus ``provides``."""
        return (self.name, *self.provides)
