"""The ws plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mega import Listener, hookspec

if TYPE_CHECKING:
    from mega import App

    from .channel import Channel


@hookspec
def mega_ws_listeners(app: App) -> Mapping[str, Listener] | None:
    """Listeners of the WebSocket events, by event name, collected once at boot; each gets a
    ``mega.Event``:

    - ``connect`` (conn, identity), ``disconnect`` (conn, reason)
    - ``join`` (conn, topic), ``leave`` (conn, topic, reason: left, disconnected, shutdown)
    - ``rejected``: an upgrade refused (code, status)
    - ``slow_consumer``: a client cut off at its send buffer (conn)
    - ``node_up`` / ``node_down``: another node's presence appeared / went (node, reason)

    They run on the socket's path: keep them to counting; an error is logged and changes
    nothing. An unknown event name fails at boot."""


@hookspec
def mega_ws_channels(app: App) -> Iterable[type[Channel]] | None:
    """Channel classes this plugin serves next to the app's ``apps/*/channels/*.py``."""
