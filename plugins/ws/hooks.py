"""The ws plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mega import Listener, hookspec

if TYPE_CHECKING:
    from mega import App

    from .channel import Channel


class FrameCodec(Protocol):
    """What ``mega_ws_frame_codec`` opens for one connection: ``decode`` runs on each client
    frame before the envelope is parsed (a ``MegaError`` it raises is answered with an error
    frame, and the frame is dropped); ``encode`` on each frame sent to the client."""

    async def decode(self, data: str | bytes) -> str | bytes: ...

    def encode(self, text: str) -> str: ...


#: ``open(scope) -> FrameCodec | None``, called at each upgrade
OpenCodec = Callable[[Any], "FrameCodec | None"]


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


@hookspec
def mega_ws_frame_codec(app: App) -> OpenCodec | None:
    """A transform of connections' frames (the secure plugin's encryption), collected once at
    boot: ``open(scope)`` runs at each upgrade, before authentication, and returns a
    ``FrameCodec`` for that socket or None to leave it as it is; a ``MegaError`` it raises
    refuses the upgrade (its ``http_status`` and code). Codecs of several plugins nest, the
    first plugin's outermost. With none, frames pay nothing."""
