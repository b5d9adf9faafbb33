"""Ordering enabled plugins by ``requires`` / ``provides``.

A plugin comes after every enabled plugin that provides a capability it requires. Among plugins
free to go next, config order wins, so an app without requirements boots in the order it lists.
"""

from __future__ import annotations

from .errors import MegaConfigError
from .spec import PluginSpec


def order_plugins(specs: list[PluginSpec]) -> tuple[list[PluginSpec], list[MegaConfigError]]:
    """Return the specs in boot order and the problems found (missing requirements, cycles).

    Plugins caught in a problem are left out of the order, so a check can go on with the rest.
    """
    providers: dict[str, list[str]] = {}
    for spec in specs:
        for capability in spec.capabilities:
            providers.setdefault(capability, []).append(spec.name)

    problems: list[MegaConfigError] = []
    deps: dict[str, set[str]] = {}
    for spec in specs:
        needs: set[str] = set()
        for capability in spec.requires:
            if capability not in providers:
                problems.append(
                    MegaConfigError(
                        "plugin.missing_requirement",
                        f"plugin {spec.name!r} requires {capability!r}, which no enabled plugin "
                        f"provides; enable a plugin that provides {capability!r} in [app].plugins",
                        {"plugin": spec.name, "requires": capability},
                    )
                )
                continue
            needs.update(p for p in providers[capability] if p != spec.name)
        deps[spec.name] = needs

    broken = {p.details["plugin"] for p in problems}
    pending = [s for s in specs if s.name not in broken]
    placed: set[str] = set()
    ordered: list[PluginSpec] = []
    while pending:
        ready = next((s for s in pending if deps[s.name] <= placed), None)
        if ready is None:
            blocked = {s.name for s in pending}
            if deps_on_broken := [s for s in pending if deps[s.name] & broken]:
                # Waiting on a plugin that already has a problem: reported once, above.
                for s in deps_on_broken:
                    pending.remove(s)
                    broken.add(s.name)
                continue
            cycle = _find_cycle(blocked, deps)
            problems.append(
                MegaConfigError(
                    "plugin.requirement_cycle",
                    f"plugins require each other in a cycle: {' -> '.join(cycle)}; "
                    "break the cycle by removing one of these requirements",
                    {"cycle": cycle},
                )
            )
            break
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered, problems


def _find_cycle(nodes: set[str], deps: dict[str, set[str]]) -> list[str]:
    start = min(nodes)
    path = [start]
    while True:
        nxt = min(d for d in deps[path[-1]] if d in nodes)
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)
