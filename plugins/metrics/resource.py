"""The service a process's metrics describe: its resource attributes, sent as the OTLP resource
and scraped as ``target_info``.

``service.name`` (the tracing plugin's ``service_name``, else ``[app] name``),
``service.version`` (the app's own: ``[app] version`` or its project distribution's, never
mega's; absent when unknown), ``deployment.environment.name`` (``[app] env``) and the tracing
plugin's extra ``attributes``: the attributes tracing gives its spans, so metrics and spans of
one process describe the same service.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .exposition import Family

if TYPE_CHECKING:
    from mega import App

_INVALID = re.compile(r"[^a-zA-Z0-9_]+")
_REPEATED = re.compile(r"__+")


def resource_attributes(app: App) -> dict[str, str]:
    """The app's resource attributes (call at boot: the version reads pyproject.toml)."""
    tracing = app.plugin_config("tracing") if "tracing" in app.extensions else None
    found = {"service.name": getattr(tracing, "service_name", None) or app.config.app.name}
    version = app.config.app_version()
    if version is not None:
        found["service.version"] = version
    found["deployment.environment.name"] = app.config.app.env
    found.update(getattr(tracing, "attributes", None) or {})
    return found


def label_name(key: str) -> str:
    """An attribute key as a Prometheus label name, by the OpenTelemetry rule: invalid
    characters become ``_``, repeated ``_`` one, a leading digit gets ``key_``."""
    name = _REPEATED.sub("_", _INVALID.sub("_", key))
    return f"key_{name}" if name[:1].isdigit() else name


def target_info(attributes: dict[str, str]) -> Family:
    """The OpenMetrics ``target`` info family (one ``target_info`` sample, value 1) whose labels
    are the resource attributes and nothing else, as OpenTelemetry's Prometheus exporter
    writes it; keys that collide once converted join their values with ``;`` in key order."""
    labels: dict[str, str] = {}
    for key in sorted(attributes):
        name = label_name(key)
        value = str(attributes[key])
        labels[name] = f"{labels[name]};{value}" if name in labels else value
    return Family("target", "info", "Target metadata", [(labels, 1.0)])
