"""``Auth``: what the plugin keeps for a booted app (``app.extensions["auth"]``), how it is built
at boot, and the accessors ``passwords(ctx)`` and ``guard(ctx)``."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mega import App, Cache, Ctx, MegaConfigError, MegaNotFoundError

from .guard import Guard
from .passwords import Passwords
from .settings import AuthSettings

if TYPE_CHECKING:
    from .identity import UserLoader


@dataclass(slots=True)
class Auth:
    """The auth plugin's runtime: settings, ``Passwords``, ``Guard`` and the user loader."""

    settings: AuthSettings
    passwords: Passwords
    guard: Guard
    user_loader: UserLoader | None = None


def runtime(app: App) -> Auth:
    """The booted app's ``Auth``; ``plugin.not_enabled`` when the plugin is off."""
    try:
        found: Auth = app.extensions["auth"]
    except KeyError:
        raise MegaConfigError(
            "plugin.not_enabled",
            "the auth helpers need the 'auth' plugin: add it to [app].plugins",
            {"plugin": "auth"},
        ) from None
    return found


def passwords(ctx: Ctx | App) -> Passwords:
    """The app's ``Passwords`` (``await passwords(ctx).hash(password)``)."""
    return runtime(ctx if isinstance(ctx, App) else ctx.app).passwords


def guard(ctx: Ctx | App) -> Guard:
    """The app's ``Guard`` (``await guard(ctx).check(account, address)``)."""
    return runtime(ctx if isinstance(ctx, App) else ctx.app).guard


def build(app: App, settings: AuthSettings) -> Auth:
    """Everything checked at boot: the cache adapter's alias and members, the user loader."""
    return Auth(
        settings,
        Passwords(settings),
        Guard(counters(app, settings.guard.cache), settings.guard),
        load_user_loader(settings.user_loader),
    )


def counters(app: App, alias: str) -> Cache:
    """The ``[adapters.cache.<alias>]`` adapter (the kernel checked its contract: an atomic
    ``incr`` with a TTL among it)."""
    try:
        cache: Cache = app.ctx().cache(alias)
    except MegaNotFoundError as exc:
        raise MegaConfigError(
            "auth.no_cache",
            f"[plugins.auth.guard] cache = {alias!r} names no cache adapter ({exc.message}); "
            "the guard keeps its counters there",
            {"cache": alias, **exc.details},
        ) from exc
    return cache


def load_user_loader(spec: str | None) -> UserLoader | None:
    """``[plugins.auth] user_loader``, imported and checked to be an async function."""
    if spec is None:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise MegaConfigError(
            "auth.invalid_user_loader",
            f"[plugins.auth] user_loader = {spec!r} cannot be imported ({exc}); use "
            "'package.module:function'",
            {"user_loader": spec},
        ) from exc
    if not inspect.iscoroutinefunction(target):
        raise MegaConfigError(
            "auth.invalid_user_loader",
            f"[plugins.auth] user_loader = {spec!r} is not an async function; define "
            "'async def load_user(ctx, user_id) -> Identity | None'",
            {"user_loader": spec},
        )
    loader: UserLoader = target
    return loader
