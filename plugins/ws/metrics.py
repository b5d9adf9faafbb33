"""The ws plugin's counters as metric families, read at scrape (``mega_metrics_collectors``).

The hub counts in plain integers on its hot paths; they become metrics only when scraped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hub import Hub

#: the hub's counters, as (Stats attribute, metric name, help)
_COUNTERS = (
    ("connects", "mega_ws_connections_opened", "WebSocket connections accepted."),
    ("disconnects", "mega_ws_connections_closed", "WebSocket connections closed."),
    ("rejected", "mega_ws_upgrades_rejected", "WebSocket upgrades refused (origin, auth)."),
    ("joins", "mega_ws_joins", "Topic joins."),
    ("leaves", "mega_ws_leaves", "Topic leaves (left, disconnected or shut down)."),
    ("messages_in", "mega_ws_messages_in", "Client messages received."),
    ("frames_out", "mega_ws_messages_out", "Frames sent to clients."),
    ("broadcasts", "mega_ws_broadcasts", "Broadcasts made on this node."),
    ("slow_consumers", "mega_ws_slow_consumer_disconnects", "Clients cut off at the send buffer."),
)


def ws_collector(hub: Hub) -> Callable[[], list[Any]]:
    """Connections, joins, messages and slow-consumer disconnects of ``hub``."""
    from mega.plugins.metrics import Family

    def collect() -> list[Any]:
        stats = hub.stats
        families = [
            Family(name, "counter", help, [({}, float(getattr(stats, attr)))])
            for attr, name, help in _COUNTERS
        ]
        families.append(
            Family("mega_ws_connections", "gauge", "Open WebSocket connections.",
                   [({}, float(len(hub.connections)))])
        )  # fmt: skip
        families.append(
            Family("mega_ws_peer_nodes", "gauge", "Other nodes this node hears.",
                   [({}, float(len(hub.presence.nodes)))])
        )  # fmt: skip
        return families

    return collect
