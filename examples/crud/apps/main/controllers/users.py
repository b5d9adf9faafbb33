"""UsersController: list (filters, keyset pages), create, edit (avatar upload), delete.

Each method serves a page under /users and JSON under /api/users.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.responses import Response

from mega.plugins.http import HttpCtx

from ..services.users_service import UsersService, public
from ..web import current_user_id, done, respond
from .auth import EMAIL


class NewUser(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(max_length=200)
    locale: Literal["en", "ko"] = "en"
    type_id: int
    level_id: int


class UserChanges(BaseModel):
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, max_length=200)  # empty on the form: unchanged
    locale: Literal["en", "ko"] | None = None
    type_id: int | None = None
    level_id: int | None = None
    avatar: Any = None  # an upload, on the page's multipart form


async def form_context(ctx: HttpCtx) -> dict[str, Any]:
    """What the user form needs besides values and errors (FormPage calls it on errors too)."""
    service = UsersService(ctx)
    user_id = ctx.request.path_params.get("user_id")
    editing = int(user_id) if user_id else None
    wallet = await service.wallet(editing) if editing is not None else None
    return await service.references() | {"editing": editing, "wallet": wallet}


def _optional_int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


class UsersController:
    async def index(
        self,
        ctx: HttpCtx,
        q: str = Field(default="", max_length=100),
        type_id: str = "",
        level_id: str = "",
        after: str | None = None,
        limit: int = Field(default=10, ge=1, le=100),
    ) -> Any:
        """Users by name; pass ``next`` back as ``after`` for the following page."""
        service = UsersService(ctx)
        found = await service.page(
            q=q,
            type_id=_optional_int(type_id),
            level_id=_optional_int(level_id),
            after=after,
            limit=limit,
        )
        data = {"items": [public(u) for u in found.items], "next": found.next}
        filters = {"q": q, "type_id": type_id, "level_id": level_id}
        return respond(ctx, "users/list.html", data, filters=filters, **await service.references())

    async def show(self, ctx: HttpCtx, user_id: int) -> Any:
        service = UsersService(ctx)
        user = public(await service.get(user_id))
        wallet = await service.wallet(user_id)
        return {"user": user, "wallet": wallet}

    async def new(self, ctx: HttpCtx) -> Any:
        return respond(
            ctx, "users/form.html", {"values": {}, "errors": {}}, **await form_context(ctx)
        )

    async def create(self, ctx: HttpCtx, body: NewUser) -> Any:
        user_id = await UsersService(ctx).create(body.model_dump(), actor=current_user_id(ctx))
        return done(
            ctx, "/users", {"id": user_id}, "flash.user_created", status=201, name=body.name
        )

    async def edit(self, ctx: HttpCtx, user_id: int) -> Any:
        user = public(await UsersService(ctx).get(user_id))
        values = {k: str(v) for k, v in user.items() if v is not None}
        return respond(
            ctx, "users/form.html", {"values": values, "errors": {}}, **await form_context(ctx)
        )

    async def update(self, ctx: HttpCtx, user_id: int, body: UserChanges) -> Any:
        avatar = None
        if isinstance(body.avatar, UploadFile) and body.avatar.filename:
            content_type = body.avatar.content_type or "application/octet-stream"
            avatar = (await body.avatar.read(), content_type)
        await UsersService(ctx).update(
            user_id,
            body.model_dump(exclude={"avatar"}),
            actor=current_user_id(ctx),
            avatar=avatar,
        )
        return done(ctx, "/users", {"id": user_id}, "flash.user_updated")

    async def delete(self, ctx: HttpCtx, user_id: int) -> Any:
        actor = current_user_id(ctx)
        await UsersService(ctx).delete(user_id, actor=actor)
        if user_id == actor:
            ctx.session.clear()
        return done(ctx, "/users", {"deleted": user_id}, "flash.user_deleted")

    async def avatar(self, ctx: HttpCtx, user_id: int) -> Response:
        user = await UsersService(ctx).get(user_id)
        if user["avatar"] is None:
            return Response(status_code=404)
        headers = {"cache-control": "private, max-age=60"}
        return Response(user["avatar"], media_type=user["avatar_type"], headers=headers)
