"""UsersController: list (filters, keyset pages), create, edit (avatar upload), delete.

Each method serves a page under /users and JSON under /api/users. Who may do what is decided by
``services/access.py``: the service enforces it; the ``may_*`` route checks below ask the same
rules before a body is read, and the pages only offer what the reader may do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.responses import Response

from mega.plugins.http import HttpCtx

from ..services import access
from ..services.access import Actor
from ..services.avatars import stored_type
from ..services.users_service import UsersService, public
from ..web import actor, done, respond
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
    who = actor(ctx)
    editing = _path_user(ctx)
    wallet = await service.wallet(editing, actor=who) if editing is not None else None
    target = editing if editing is not None else 0
    return await service.references() | {
        "editing": editing,
        "wallet": wallet,
        "may_change_level": access.may_change_role(who, target),
        "may_change_type": access.may_change_type(who, target),
    }


def _path_user(ctx: HttpCtx) -> int | None:
    value = ctx.request.path_params.get("user_id", "")
    return int(value) if value.isdigit() else None


def may_create(who: Actor, ctx: HttpCtx) -> None:
    access.check_create_users(who)


def may_edit(who: Actor, ctx: HttpCtx) -> None:
    user_id = _path_user(ctx)
    if user_id is not None:  # otherwise the path is invalid: a 422 follows
        access.check_edit_user(who, user_id)


def may_delete(who: Actor, ctx: HttpCtx) -> None:
    user_id = _path_user(ctx)
    if user_id is not None:
        access.check_delete_user(who, user_id)


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
        """Users by name; pass ``next`` back as ``after`` for the following page. Each item
        says what the reader may do with it (``may_edit``, ``may_delete``)."""
        service = UsersService(ctx)
        who = actor(ctx)
        found = await service.page(
            q=q,
            type_id=_optional_int(type_id),
            level_id=_optional_int(level_id),
            after=after,
            limit=limit,
        )
        items = [
            public(u)
            | {
                "may_edit": access.may_edit_user(who, u["id"]),
                "may_delete": access.may_delete_user(who, u["id"]),
            }
            for u in found.items
        ]
        data = {"items": items, "next": found.next}
        filters = {"q": q, "type_id": type_id, "level_id": level_id}
        return respond(
            ctx,
            "users/list.html",
            data,
            filters=filters,
            may_create=access.may_create_users(who),
            **await service.references(),
        )

    async def show(self, ctx: HttpCtx, user_id: int) -> Any:
        """The public profile; the wallet only for the user themselves and administrators."""
        return await UsersService(ctx).profile(user_id, actor=actor(ctx))

    async def new(self, ctx: HttpCtx) -> Any:
        return respond(
            ctx, "users/form.html", {"values": {}, "errors": {}}, **await form_context(ctx)
        )

    async def create(self, ctx: HttpCtx, body: NewUser) -> Any:
        user_id = await UsersService(ctx).create(body.model_dump(), actor=actor(ctx))
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
            avatar = await body.avatar.read()  # its declared type is ignored: the bytes decide
        await UsersService(ctx).update(
            user_id,
            body.model_dump(exclude={"avatar"}),
            actor=actor(ctx),
            avatar=avatar,
        )
        return done(ctx, "/users", {"id": user_id}, "flash.user_updated")

    async def delete(self, ctx: HttpCtx, user_id: int) -> Any:
        await UsersService(ctx).delete(user_id, actor=actor(ctx))
        return done(ctx, "/users", {"deleted": user_id}, "flash.user_deleted")

    async def avatar(self, ctx: HttpCtx, user_id: int) -> Response:
        """The stored bytes, with the type found in them (never the one declared at upload)."""
        user = await UsersService(ctx).get(user_id)
        kind = stored_type(user["avatar"]) if user["avatar"] is not None else None
        if kind is None:
            return Response(status_code=404)
        # mega adds X-Content-Type-Options: nosniff to every response: the type is final
        headers = {"cache-control": "private, max-age=60"}
        return Response(user["avatar"], media_type=kind, headers=headers)
