"""mega plugin `{{ name }}`: a `cache` adapter driver.

Replace the dictionary below with a client for your backend; keep `connect` and `close` async and
import heavy client libraries inside `connect`, so that `mega --help` stays fast.
"""

from __future__ import annotations

from typing import Any

from mega import PluginSpec, hookimpl
from pydantic import BaseModel, ConfigDict


class {{ Name }}Options(BaseModel):
    """Keys of `[adapters.cache.<alias>]` when `driver = "{{ name }}"`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = ""


class {{ Name }}Cache:
    """A cache adapter: `ctx.cache(alias)` returns this object."""

    def __init__(self, *, alias: str, options: {{ Name }}Options) -> None:
        self.alias = alias
        self.options = options
        self._data: dict[str, Any] | None = None

    async def connect(self) -> None:
        self._data = {}

    async def close(self) -> None:
        self._data = None

    async def get(self, key: str, default: Any = None) -> Any:
        return self._store().get(self.options.prefix + key, default)

    async def set(self, key: str, value: Any) -> None:
        self._store()[self.options.prefix + key] = value

    def _store(self) -> dict[str, Any]:
        if self._data is None:
            raise RuntimeError(f"cache {self.alias!r} is not connected")
        return self._data


plugin = PluginSpec(name="{{ name }}", description="The {{ name }} cache driver")


@hookimpl
def mega_register(registry):
    registry.adapter_driver("cache", "{{ name }}", {{ Name }}Cache, options={{ Name }}Options)
