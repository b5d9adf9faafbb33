"""The app's middleware: who is signed in, the access rules asked early, errors in the reader's
language, and forms that show their own errors. Sign-in and role checks are the auth plugin's
``SignedIn`` and ``RequireRole`` (routes/); refusals they raise are answered here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from mega.plugins.auth import NotSignedIn, RoleRequired, TooManyAttempts, current_user
from mega.plugins.http import HttpCtx, fail

from .services.access import Actor
from .services.errors import Forbidden, NotFound
from .web import actor, field_errors, login_redirect, page, wants_json


class CurrentUser:
    """App-wide: puts the signed-in user's row (or None) on ``request.state.user`` for pages
    and ``actor(ctx)`` (the auth plugin's user_loader, ``load_identity``, reads it)."""

    async def before(self, ctx: HttpCtx) -> None:
        identity = await current_user(ctx)
        ctx.request.state.user = identity.user if identity is not None else None


Rule = Callable[[Actor, HttpCtx], None]


class Allow:
    """After SignedIn: asks a rule of ``services/access.py`` before the input is read, so a
    refused request is refused whatever it sends (validation tells it nothing) and a form never
    re-renders someone else's data with its errors. The service asks again when it acts."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def before(self, ctx: HttpCtx) -> None:
        self.rule(actor(ctx), ctx)


class LocalizedErrors:
    """App-wide: a refusal (403, 404: ``services/errors.py``; 401, 403 from the auth plugin)
    answers in the reader's language, on the error page and in the JSON envelope alike; code
    and details stay for programs. An anonymous page request is sent to sign in (and back
    after) instead. Form errors are shown beside their fields by ``FormPage``."""

    def error(self, ctx: HttpCtx, exc: BaseException) -> Response | None:
        if isinstance(exc, NotSignedIn) and not wants_json(ctx):
            return login_redirect(ctx)
        if not isinstance(exc, Forbidden | NotFound | NotSignedIn | RoleRequired):
            return None
        message = ctx.t(f"errors.{exc.code}", **exc.details)
        return fail(exc.http_status, exc.code, message, exc.details)


FormContext = Callable[[HttpCtx], Awaitable[dict[str, Any]]]


class FormPage:
    """On invalid input a page shows the form again, with the messages beside the fields and
    what the user typed (never the password); the API keeps the JSON error envelope."""

    def __init__(self, template: str, context: FormContext | None = None) -> None:
        self.template = template
        self.context = context

    async def error(self, ctx: HttpCtx, exc: BaseException) -> Response | None:
        if wants_json(ctx):
            return None
        errors = field_errors(ctx, exc)
        if errors is None:
            return None
        form = await ctx.request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in SECRET_FIELDS}
        extra = await self.context(ctx) if self.context else {}
        if not isinstance(exc, TooManyAttempts):
            return page(ctx, self.template, 422, errors=errors, values=values, **extra)
        response = page(ctx, self.template, 429, errors=errors, values=values, **extra)
        response.headers["retry-after"] = str(exc.retry_after_s)  # the lock's own wait
        return response


SECRET_FIELDS = {"password", "password_confirm", "csrf_token"}
