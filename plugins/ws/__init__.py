"""The ``ws`` plugin: WebSocket channels and presence across every node of the app.

Channels live in ``apps/<app>/channels/*.py`` (``mega g channel <Name>``); clients connect to
``[plugins.ws] path`` (default ``/ws``) on the app's own port, join topics, send events and see
who else is there. Nodes reach each other through the ``presence`` adapter (``local``: one
process; ``nats`` or ``redis``: many). See docs/plugins/ws.md.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from mega import App, Ctx, PluginRegistry, PluginSpec, discover_classes, hookimpl

from . import hooks
from .channel import Channel, ChannelCtx, ChannelError, UnknownEvent
from .connection import Connection
from .endpoint import issue_token, load_authenticate, serve_socket
from .hooks import FrameCodec
from .hub import EVENTS, Hub, Stats
from .links import Link, LocalLink, LocalLinkOptions, NatsLink, NatsLinkOptions
from .presence import Presence, PresenceError
from .settings import WsSettings

#: the ``presence`` adapter kind's contract (drivers: local, nats, redis)
PresenceLink = Link

plugin = PluginSpec(
    name="ws",
    description="WebSocket channels, rooms and presence across nodes (local, NATS or Redis)",
    requires=("http",),
    provides=("ws", "presence"),
    config=WsSettings,
    hooks=hooks,
)


def hub_of(ctx: Ctx | App) -> Hub:
    """The app's WebSocket hub (what ``ctx.ws`` is), typed."""
    app = ctx if isinstance(ctx, App) else ctx.app
    found: Hub = app.extensions["ws"]
    return found


class WebSocketApp:
    """The ASGI app at ``[plugins.ws] path``: hands each socket to the booted app's hub."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await serve_socket(hub_of(self.app), scope, receive, send)


def ws_routes(app: App) -> list[Any]:
    """The WebSocket route and ``<path>/client.js`` (the JavaScript client)."""
    from starlette.responses import FileResponse
    from starlette.routing import Route, WebSocketRoute

    settings = app.plugin_config("ws")
    assert isinstance(settings, WsSettings)
    script = resources.files(__package__) / "static" / "mega-ws.js"

    async def client_js(request: Any) -> FileResponse:
        return FileResponse(
            str(script),
            media_type="text/javascript",
            headers={"cache-control": "public, max-age=3600"},
        )

    path = settings.path.rstrip("/") or "/ws"
    return [
        WebSocketRoute(path, WebSocketApp(app), name="ws"),
        Route(f"{path}/client.js", client_js, name="ws.client_js"),
    ]


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from mega import scaffolds_dir

    registry.adapter_driver(
        "presence",
        "local",
        LocalLink,
        options=LocalLinkOptions,
        description="in-process: the apps of one process (one node, or several in a test)",
    )
    registry.adapter_driver(
        "presence",
        "nats",
        NatsLink,
        options=NatsLinkOptions,
        description="NATS core publish/subscribe between the app's nodes (nats-py)",
    )
    registry.adapter_kind(
        "presence", protocol=Link, description="how ws nodes share presence and broadcasts"
    )
    registry.ctx_attribute("ws", hub_of)
    registry.generator(
        "channel",
        dir=scaffolds_dir() / "ws",
        description="A WebSocket channel in apps/<app>/channels/, with a test that joins it",
        files=[
            {"path": "apps/{{ app }}/channels/{{ snake }}.py", "template": "channel.py.tpl"},
            {
                "path": "tests/{{ app }}/test_{{ snake }}_channel.py",
                "template": "test_channel.py.tpl",
            },
        ],
    )


@hookimpl
def mega_http_asgi_routes(app: App) -> list[Any]:
    return ws_routes(app)


@hookimpl
def mega_metrics_collectors(app: App) -> Any:
    from .metrics import ws_collector

    return ws_collector(hub_of(app))


def discover_channels(app: App) -> list[type[Channel]]:
    """``apps/*/channels/*.py`` channel classes, then those plugins serve
    (``mega_ws_channels``)."""
    found = discover_classes(
        app.config.root,
        "channels",
        lambda cls: issubclass(cls, Channel) and cls is not Channel and bool(cls.topic),
        what="channel",
    )
    found += [c for channels in app.hooks.collect("mega_ws_channels", app=app) for c in channels]
    # deprecated: registry.contribute("channel", ...) (one release)
    found += [entry.value for _name, entry in app.registry.contributions("channel").items()]
    return found


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("ws")
    assert isinstance(settings, WsSettings)
    hub = Hub(app, settings, discover_channels(app))
    hub.authenticate = load_authenticate(settings.authenticate)
    app.extensions["ws"] = hub


@hookimpl
async def mega_after_boot(app: App) -> None:
    hub = hub_of(app)
    for plugin, listeners in app.hooks.collect_by_plugin("mega_ws_listeners", app=app):
        hub.events.attach(listeners, source=f"plugin {plugin!r}")
    hub.codecs = tuple(app.hooks.collect("mega_ws_frame_codec", app=app))
    await hub.start()


@hookimpl
async def mega_http_draining(app: App) -> None:
    # the server was told to stop: say "going away" (1001) before it drops the sockets
    await hub_of(app).close_clients()


@hookimpl
async def mega_before_shutdown(app: App) -> None:
    await hub_of(app).stop()


__all__ = [
    "EVENTS",
    "Channel",
    "ChannelCtx",
    "ChannelError",
    "Connection",
    "FrameCodec",
    "Hub",
    "LocalLink",
    "LocalLinkOptions",
    "NatsLink",
    "NatsLinkOptions",
    "Presence",
    "PresenceError",
    "PresenceLink",
    "Stats",
    "UnknownEvent",
    "WsSettings",
    "hub_of",
    "issue_token",
    "plugin",
]
