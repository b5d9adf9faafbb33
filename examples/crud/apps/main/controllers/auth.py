"""AuthController: register, sign in, sign out, the language switch — pages and /api/."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse

from mega.plugins.auth import client_address, sign_in, sign_out
from mega.plugins.http import HttpCtx

from ..services.auth_service import AuthService
from ..services.password_policy import MIN_LENGTH, STRENGTH
from ..web import done, page, signed_in_user, wants_json

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Registration(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)
    name: str = Field(min_length=1, max_length=100)
    # strength is checked by services/password_policy.py (a page explains it in the reader's
    # language); the OpenAPI document states the rule too
    password: str = Field(
        max_length=200,
        description=STRENGTH,
        json_schema_extra={"minLength": MIN_LENGTH},
    )
    locale: Literal["en", "ko"] = "en"


class Credentials(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)
    next: str = "/boards"


def _safe_next(target: str) -> str:
    # only a path on this site: "//evil.example" or "https://…" would make an open redirect
    return target if target.startswith("/") and not target.startswith("//") else "/boards"


class AuthController:
    async def register_form(self, ctx: HttpCtx) -> Any:
        return page(ctx, "auth/register.html", values={"locale": ctx.locale}, errors={})

    async def register(self, ctx: HttpCtx, body: Registration) -> Any:
        """Create an account (its wallet, the welcome e-mail job) and sign in."""
        user = await AuthService(ctx).register(
            email=body.email, name=body.name, password=body.password, locale=body.locale
        )
        self._sign_in(ctx, user)
        return done(
            ctx,
            "/boards",
            {"id": user["id"], "email": user["email"]},
            "flash.registered",
            status=201,
            name=user["name"],
        )

    async def login_form(self, ctx: HttpCtx, next: str = "/boards") -> Any:
        return page(ctx, "auth/login.html", values={"next": next}, errors={})

    async def login(self, ctx: HttpCtx, body: Credentials) -> Any:
        """Sign in; five failures lock the account for a while (then longer each time)."""
        # the peer, or the client a trusted proxy names ([plugins.http] trusted_proxies)
        address = client_address(ctx)
        user = await AuthService(ctx).login(body.email, body.password, address)
        self._sign_in(ctx, user)
        data = {"id": user["id"], "email": user["email"], "csrf_token": ctx.csrf_token}
        return done(ctx, _safe_next(body.next), data, "flash.signed_in", name=user["name"])

    async def logout(self, ctx: HttpCtx) -> Any:
        sign_out(ctx)
        return done(ctx, "/login", {"signed_out": True}, "flash.signed_out")

    async def session(self, ctx: HttpCtx) -> dict[str, Any]:
        """Who is signed in, and the CSRF token an API client sends as X-CSRF-Token."""
        user = signed_in_user(ctx)
        return {
            "user": None if user is None else {"id": user["id"], "name": user["name"]},
            "csrf_token": ctx.csrf_token,
        }

    async def switch_locale(self, ctx: HttpCtx, lang: Literal["en", "ko"], back: str = "/") -> Any:
        response = RedirectResponse(_safe_next(back), status_code=303)
        response.set_cookie("locale", lang, max_age=365 * 86400, samesite="lax")
        return response if not wants_json(ctx) else {"locale": lang}

    @staticmethod
    def _sign_in(ctx: HttpCtx, user: dict[str, Any]) -> None:
        sign_in(ctx, user["id"])  # a new session id: one planted before sign-in is worthless
        ctx.session["name"] = user["name"]
