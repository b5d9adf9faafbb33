"""Who is signed in: ``sign_in``/``sign_out``, ``current_user``, ``require_user``/``require_role``
and the route middleware ``SignedIn``, ``RequireRole`` and ``GuardLogin``.

The session (the http plugin's, ``[plugins.http.session]``) holds the user's id under
``[plugins.auth] session_key`` — the key the ws plugin reads too. ``[plugins.auth] user_loader``
turns that id into an ``Identity`` once per request (so a deleted account or a changed role
counts at once); without one, the identity is the id and the roles given to ``sign_in``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from mega import MegaConfigError, MegaError
from mega.plugins.http import HttpCtx

if TYPE_CHECKING:
    from .runtime import Auth

#: where the identity loaded for a request is kept, in the ASGI scope (namespaced key)
_SCOPE_KEY = "mega.auth.identity"
_UNLOADED = object()


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in user: ``id`` (what ``sign_in`` stored), ``roles``, and ``user``, the app's
    own record of them (whatever its ``user_loader`` returns there; None without one)."""

    id: int | str
    roles: frozenset[str] = field(default_factory=frozenset)
    user: Any = None

    def has_role(self, *roles: str) -> bool:
        """Whether the user has any of ``roles``."""
        return not self.roles.isdisjoint(roles)


UserLoader = Callable[[HttpCtx, Any], Awaitable[Identity | None]]


class NotSignedIn(MegaError):
    """401 ``auth.required``: the route needs a signed-in user."""

    http_status = 401

    def __init__(self) -> None:
        super().__init__("auth.required", "sign in first: this needs a signed-in user")


class RoleRequired(MegaError):
    """403 ``auth.role_required``: signed in, without any of the roles the route needs."""

    http_status = 403

    def __init__(self, roles: Iterable[str]) -> None:
        wanted = sorted(roles)
        super().__init__(
            "auth.role_required",
            f"this needs the role {' or '.join(repr(r) for r in wanted)}",
            {"roles": wanted},
        )
        self.roles = wanted


def _auth(ctx: HttpCtx) -> Auth:
    from .runtime import runtime

    return runtime(ctx.app)


def sign_in(ctx: HttpCtx, user_id: int | str, *, roles: Iterable[str] = ()) -> None:
    """Sign ``user_id`` in: the session gets a new id (a session id planted before sign-in is
    worthless, and so is the CSRF token handed out with it) and holds the user's id and
    ``roles`` (which count when no ``user_loader`` is set)."""
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise TypeError(f"sign_in needs the user's id as an int or a str, got {user_id!r}")
    settings = _auth(ctx).settings
    session = ctx.session
    session.rotate()
    session[settings.session_key] = user_id
    names = sorted({str(r) for r in roles})
    if names:
        session[settings.roles_key] = names
    else:
        session.pop(settings.roles_key, None)
    ctx.request.scope.pop(_SCOPE_KEY, None)


def sign_out(ctx: HttpCtx) -> None:
    """End the sign-in: the session is emptied and gets a new id."""
    session = ctx.session
    session.clear()
    session.rotate()
    ctx.request.scope[_SCOPE_KEY] = None


async def current_user(ctx: HttpCtx) -> Identity | None:
    """The signed-in user, or None. Loaded once per request (``user_loader``); when the loader
    finds no such user any more (deleted while signed in) the session is emptied."""
    scope = ctx.request.scope
    found = scope.get(_SCOPE_KEY, _UNLOADED)
    if found is not _UNLOADED:
        return cast(Identity | None, found)
    auth = _auth(ctx)
    settings = auth.settings
    user_id = ctx.session.get(settings.session_key)
    identity: Identity | None = None
    if user_id is not None:
        if auth.user_loader is None:
            roles = ctx.session.get(settings.roles_key) or ()
            identity = Identity(user_id, frozenset(str(r) for r in roles))
        else:
            identity = await auth.user_loader(ctx, user_id)
            if identity is None:
                ctx.session.clear()
            elif not isinstance(identity, Identity):
                raise MegaError(
                    "auth.invalid_identity",
                    f"[plugins.auth] user_loader {settings.user_loader!r} returned "
                    f"{type(identity).__name__}; it must return an Identity or None",
                    {"user_loader": settings.user_loader, "returned": type(identity).__name__},
                )
    scope[_SCOPE_KEY] = identity
    return identity


async def require_user(ctx: HttpCtx) -> Identity:
    """The signed-in user; ``NotSignedIn`` (401) when there is none."""
    identity = await current_user(ctx)
    if identity is None:
        raise NotSignedIn()
    return identity


async def require_role(ctx: HttpCtx, *roles: str) -> Identity:
    """The signed-in user when they have any of ``roles``; ``NotSignedIn`` (401) or
    ``RoleRequired`` (403) otherwise."""
    identity = await require_user(ctx)
    if not identity.has_role(*roles):
        raise RoleRequired(roles)
    return identity


def client_address(ctx: HttpCtx) -> str:
    """The client's address as the http plugin resolved it: the peer, or what a proxy listed
    in ``[plugins.http] trusted_proxies`` says (``mega serve`` believes no one else's
    ``X-Forwarded-For``). ``"unknown"`` when the server gives none (a Unix socket)."""
    client = ctx.request.client
    return client.host if client is not None and client.host else "unknown"


def _anonymous(ctx: HttpCtx) -> Response:
    """A browser goes to ``[plugins.auth] login_url`` when one is set; anything else: 401."""
    login_url = _auth(ctx).settings.login_url
    if login_url is not None and "text/html" in ctx.request.headers.get("accept", ""):
        url = ctx.request.url
        target = url.path + (f"?{url.query}" if url.query else "")
        joiner = "&" if "?" in login_url else "?"
        return RedirectResponse(f"{login_url}{joiner}next={quote(target)}", status_code=303)
    raise NotSignedIn()


class SignedIn:
    """Route middleware: only a signed-in user gets through. Anonymous: 401 ``auth.required``
    (a browser is sent to ``login_url`` when set). Runs before the request's input is read."""

    async def before(self, ctx: HttpCtx) -> Response | None:
        if await current_user(ctx) is not None:
            return None
        return _anonymous(ctx)


class RequireRole:
    """Route middleware: only a user with any of ``roles`` gets through (403
    ``auth.role_required``); anonymous callers are answered as by ``SignedIn``."""

    def __init__(self, *roles: str) -> None:
        if not roles or not all(isinstance(r, str) and r for r in roles):
            raise MegaConfigError(
                "auth.invalid_role",
                f"RequireRole needs one or more role names (non-empty strings), got {roles!r}",
                {"roles": repr(roles)},
            )
        self.roles = frozenset(roles)

    def __repr__(self) -> str:
        return f"RequireRole({', '.join(repr(r) for r in sorted(self.roles))})"

    async def before(self, ctx: HttpCtx) -> Response | None:
        identity = await current_user(ctx)
        if identity is None:
            return _anonymous(ctx)
        if not identity.has_role(*self.roles):
            raise RoleRequired(self.roles)
        return None


class GuardLogin:
    """Route middleware for a sign-in route: a locked client address is refused (429
    ``auth.locked``, with Retry-After) before the request's body is read. The handler still
    checks the account with ``guard(ctx).check(account, address)``."""

    async def before(self, ctx: HttpCtx) -> None:
        await _auth(ctx).guard.check_address(client_address(ctx))
