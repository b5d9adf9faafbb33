"""The ``auth`` plugin: argon2id passwords, a brute-force guard, and who is signed in.

::

    from mega.plugins.auth import client_address, guard, passwords, sign_in

    async def login(ctx, body):
        address = client_address(ctx)
        await guard(ctx).check(body.email, address)          # 429 while locked
        user = await find_user(ctx, body.email)
        checked = await passwords(ctx).verify(user["password_hash"] if user else None,
                                              body.password)
        if not checked.ok:
            await guard(ctx).record_failure(body.email, address)
            raise WrongPassword()
        await guard(ctx).record_success(body.email)
        sign_in(ctx, user["id"])

See docs/plugins/auth.md.
"""

from __future__ import annotations

from mega import App, PluginRegistry, PluginSpec, hookimpl

from .guard import EVENTS, Guard, TooManyAttempts
from .identity import (
    GuardLogin,
    Identity,
    NotSignedIn,
    RequireRole,
    RoleRequired,
    SignedIn,
    UserLoader,
    client_address,
    current_user,
    require_role,
    require_user,
    sign_in,
    sign_out,
)
from .passwords import Passwords, PasswordTooLong, Verification
from .runtime import Auth, build, guard, passwords, runtime
from .settings import AuthSettings, GuardSettings

plugin = PluginSpec(
    name="auth",
    description="argon2id passwords, a brute-force guard on the cache, signed-in users and roles",
    requires=("cache",),
    provides=("auth",),
    config=AuthSettings,
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    # ctx.auth: the app's Auth (ctx.auth.passwords, ctx.auth.guard), as passwords(ctx) and
    # guard(ctx) give them
    registry.ctx_attribute("auth", runtime)


@hookimpl
async def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("auth")
    assert isinstance(settings, AuthSettings)
    auth = build(app, settings)
    # the dummy hash, made once with the configured parameters (and the argon2 import checked)
    await auth.passwords.start()
    app.extensions["auth"] = auth


__all__ = [
    "EVENTS",
    "Auth",
    "AuthSettings",
    "Guard",
    "GuardLogin",
    "GuardSettings",
    "Identity",
    "NotSignedIn",
    "PasswordTooLong",
    "Passwords",
    "RequireRole",
    "RoleRequired",
    "SignedIn",
    "TooManyAttempts",
    "UserLoader",
    "Verification",
    "client_address",
    "current_user",
    "guard",
    "passwords",
    "plugin",
    "require_role",
    "require_user",
    "sign_in",
    "sign_out",
]
