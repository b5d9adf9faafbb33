"""The ``secure`` plugin: end-to-end sealed HTTP bodies and WebSocket frames, beyond TLS.

Every message is an envelope sealed with AES-256-GCM under a key agreed per client (X25519 or
ECDH P-256, then HKDF) or configured per client id, carrying a timestamp and a nonce; the
server refuses stale messages and, through the cache adapter, any nonce seen before — across
every process sharing the cache. See docs/plugins/secure.md.

::

    from mega.plugins.secure import SecureClient

    async with await SecureClient.agree("https://api.example.com") as client:
        answer = await client.post("/api/secure/notes", json={"text": "hi"})
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from mega import (
    App,
    MegaConfigError,
    MegaNotFoundError,
    PluginRegistry,
    PluginSpec,
    hookimpl,
    import_driver,
)

from .errors import SecureError
from .settings import AgreementSettings, ClientKeys, SecureSettings

if TYPE_CHECKING:
    from .client import Sealed, SecureClient, SecureResponse, SecureWebSocket
    from .crypto import Envelope, frame_aad, request_aad, response_aad, seal, unseal
    from .http import RequireSecure
    from .runtime import Peer, SecureRuntime

plugin = PluginSpec(
    name="secure",
    description="Sealed HTTP bodies and WebSocket frames: AES-256-GCM, replay cache, rotation",
    requires=("http",),
    provides=("secure",),
    config=SecureSettings,
)

#: exported names that need the ``cryptography`` package, imported on first use
_LAZY = {
    "Envelope": ".crypto",
    "frame_aad": ".crypto",
    "request_aad": ".crypto",
    "response_aad": ".crypto",
    "seal": ".crypto",
    "unseal": ".crypto",
    "Peer": ".runtime",
    "RequireSecure": ".http",
    "Sealed": ".client",
    "SecureClient": ".client",
    "SecureResponse": ".client",
    "SecureRuntime": ".runtime",
    "SecureWebSocket": ".client",
    "peer_of": ".runtime",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def _settings(app: App) -> SecureSettings:
    settings = app.plugin_config("secure")
    assert isinstance(settings, SecureSettings)
    return settings


def runtime_of(app: App) -> SecureRuntime:
    """The app's ``SecureRuntime`` (``app.extensions["secure"]``), typed."""
    found: SecureRuntime = app.extension("secure", needed_by="runtime_of()")
    return found


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    # at build, not per request: enabling the plugin without its extra says what to install
    import_driver("cryptography", extra="secure", what="the secure plugin (AES-GCM, X25519)")


@hookimpl
def mega_before_boot(app: App) -> None:
    from .keys import Keyring
    from .replay import ReplayGuard
    from .runtime import SecureRuntime

    settings = _settings(app)
    keyring = Keyring(settings)
    try:
        cache = app.adapters.get("cache", settings.cache)
    except MegaNotFoundError as exc:
        raise MegaConfigError(
            "secure.no_cache",
            f"[plugins.secure] cache = {settings.cache!r}: the replay cache needs "
            f"[adapters.cache.{settings.cache}] (memory for one process; redis or file for "
            "several)",
            {"cache": settings.cache},
        ) from exc
    app.extensions["secure"] = SecureRuntime(settings, keyring, ReplayGuard(cache, settings.skew_s))


@hookimpl
def mega_http_middleware(app: App) -> Any:
    from .http import SecureMiddleware

    prefixes = _settings(app).paths

    def wrap(asgi: Any) -> Any:
        return SecureMiddleware(asgi, app, prefixes)

    return wrap


@hookimpl
def mega_http_routes(app: App) -> list[Any]:
    agreement = _settings(app).agreement
    if not agreement.enabled:
        return []
    from mega.plugins.http import post

    from .handshake import handshake

    return [post(agreement.path, handshake, name="secure.handshake", csrf=False)]


@hookimpl
def mega_http_asgi_routes(app: App) -> list[Any]:
    from starlette.responses import FileResponse
    from starlette.routing import Route

    script = resources.files(__package__) / "static" / "mega-secure.js"

    async def client_js(request: Any) -> FileResponse:
        return FileResponse(
            str(script),
            media_type="text/javascript",
            headers={"cache-control": "public, max-age=3600"},
        )

    return [Route(_settings(app).client_js_path, client_js, name="secure.client_js")]


@hookimpl
def mega_ws_frame_codec(app: App) -> Any:
    mode = _settings(app).ws
    if mode == "off":
        return None
    from .ws import socket_codec

    return socket_codec(app, mode)


__all__ = [
    "AgreementSettings",
    "ClientKeys",
    "Envelope",
    "Peer",
    "RequireSecure",
    "Sealed",
    "SecureClient",
    "SecureError",
    "SecureResponse",
    "SecureRuntime",
    "SecureSettings",
    "SecureWebSocket",
    "frame_aad",
    "peer_of",
    "plugin",
    "request_aad",
    "response_aad",
    "runtime_of",
    "seal",
    "unseal",
]
