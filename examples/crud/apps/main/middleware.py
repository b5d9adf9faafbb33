"""The app's middleware: who is signed in, sign-in and permission checks, errors in the reader's
language, and forms that show their own errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from mega.plugins.http import HttpCtx
from mega.plugins.http.responses import fail

from .models.user import User
from .models.user_type import UserType
from .services.access import Actor
from .services.errors import Forbidden, NotFound, NotSignedIn, TooManyAttempts
from .web import actor, current_user_id, field_errors, login_redirect, page, wants_json


class CurrentUser:
    """App-wide: puts the signed-in user (or None) on ``request.state.user`` for pages."""

    async def before(self, ctx: HttpCtx) -> None:
        user_id = current_user_id(ctx)
        user = await ctx.db().get(User, user_id) if user_id is not None else None
        if user is None and user_id is not None:  # deleted while signed in
            ctx.session.clear()
        if user is not None:
            kind = await ctx.db().get(UserType, user["type_id"])
            user["is_admin"] = kind is not None and kind["code"] == "admin"
        ctx.request.state.user = user


class RequireLogin:
    """A page redirects to /login (and back after); the API answers 401."""

    def before(self, ctx: HttpCtx) -> Response | None:
        if getattr(ctx.request.state, "user", None) is not None:
            return None
        if wants_json(ctx):
            return fail(401, "auth.required", ctx.t("errors.auth.required"))
        return login_redirect(ctx)


class RequireAdmin:
    """After RequireLogin: only administrators (the audit log names people and addresses)."""

    def before(self, ctx: HttpCtx) -> Response | None:
        if ctx.request.state.user["is_admin"]:
            return None
        return fail(403, "auth.admin_only", ctx.t("errors.auth.admin_only"))


Rule = Callable[[Actor, HttpCtx], None]


class Allow:
    """After RequireLogin: asks a rule of ``services/access.py`` before the input is read, so a
    refused request is refused whatever it sends (validation tells it nothing) and a form never
    re-renders someone else's data with its errors. The service asks again when it acts."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def before(self, ctx: HttpCtx) -> None:
        self.rule(actor(ctx), ctx)


class LocalizedErrors:
    """App-wide: a refusal (403, 404, 401: ``services/errors.py``) answers in the reader's
    language, on the error page and in the JSON envelope alike; code and details stay for
    programs. Form errors are shown beside their fields by ``FormPage``."""

    def error(self, ctx: HttpCtx, exc: BaseException) -> Response | None:
        if not isinstance(exc, Forbidden | NotFound | NotSignedIn):
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
        status = 429 if isinstance(exc, TooManyAttempts) else 422
        return page(ctx, self.template, status, errors=errors, values=values, **extra)


SECRET_FIELDS = {"password", "password_confirm", "csrf_token"}
