"""The front door: signed in → the boards, otherwise → sign in."""

from __future__ import annotations

from starlette.responses import RedirectResponse

from mega.plugins.auth import current_user
from mega.plugins.http import HttpCtx, get


async def home(ctx: HttpCtx) -> RedirectResponse:
    signed_in = await current_user(ctx) is not None
    return RedirectResponse("/boards" if signed_in else "/login", status_code=303)


routes = [get("/", home, name="home", page=True)]
