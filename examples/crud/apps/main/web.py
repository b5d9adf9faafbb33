"""What the controllers share: one handler answers a page or JSON, forms show their errors.

Every controller method serves two routes: ``/users`` renders HTML, ``/api/users`` returns the
JSON envelope, from the same code. ``respond`` picks; ``done`` redirects a page (303, with a
flash message) or returns the data to an API caller.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from mega import MegaError
from mega.plugins.auth import NotSignedIn, TooManyAttempts
from mega.plugins.http import HttpCtx

from .services.access import Actor
from .services.errors import FieldError

# pydantic error types a page explains in the reader's language (others: pydantic's text)
LOCALIZED_TYPES = (
    "missing",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "int_parsing",
    "enum",
    "literal_error",
    "greater_than",
    "less_than_equal",
)


def wants_json(ctx: HttpCtx) -> bool:
    return ctx.request.url.path.startswith("/api/")


def signed_in_user(ctx: HttpCtx) -> dict[str, Any] | None:
    """The signed-in user's row (with ``is_admin``), or None: ``CurrentUser`` asked the auth
    plugin for it at the start of this request."""
    user: dict[str, Any] | None = getattr(ctx.request.state, "user", None)
    return user


def actor(ctx: HttpCtx) -> Actor:
    """The signed-in user as the services' rules see them (loaded with their type on this
    request by the auth plugin's user_loader, so a changed type counts at once)."""
    user = signed_in_user(ctx)
    if user is None:
        raise NotSignedIn()
    return Actor(id=int(user["id"]), is_admin=bool(user["is_admin"]))


def flash(ctx: HttpCtx, key: str, **values: Any) -> None:
    ctx.session["_flash"] = ctx.t(key, **values)


def page(ctx: HttpCtx, template: str, status: int = 200, **values: Any) -> Response:
    """Render a page with what every page shows: the signed-in user and a pending flash."""
    return ctx.render(
        template,
        status,
        user=signed_in_user(ctx),
        flash=ctx.session.pop("_flash", None),
        **values,
    )


def respond(ctx: HttpCtx, template: str, data: dict[str, Any], **page_only: Any) -> Any:
    return data if wants_json(ctx) else page(ctx, template, **data, **page_only)


def done(ctx: HttpCtx, to: str, data: Any, message: str, status: int = 200, **values: Any) -> Any:
    if wants_json(ctx):
        ctx.status = status
        return data
    flash(ctx, message, **values)
    return RedirectResponse(to, status_code=303)


def login_redirect(ctx: HttpCtx) -> Response:
    return RedirectResponse(f"/login?next={quote(ctx.request.url.path)}", status_code=303)


def field_errors(ctx: HttpCtx, exc: BaseException) -> dict[str, str] | None:
    """Messages by form field (``_form`` for the whole form), or None when not a form error."""
    if isinstance(exc, FieldError):
        return {exc.field: ctx.t(f"errors.{exc.code}", **exc.details)}
    if isinstance(exc, TooManyAttempts):
        return {"_form": ctx.t("errors.auth.locked", **exc.details)}
    if isinstance(exc, MegaError) and exc.code == "request.invalid":
        errors: dict[str, str] = {}
        for err in exc.details["errors"]:
            field = err["field"].split(".", 1)[1]
            kind = err["type"]
            errors.setdefault(
                field,
                ctx.t(f"errors.invalid.{kind}") if kind in LOCALIZED_TYPES else err["message"],
            )
        return errors
    return None
