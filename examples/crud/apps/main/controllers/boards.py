"""BoardsController: boards, their notes, and the live "who is here" list (ws presence)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mega.plugins.http import HttpCtx

from ..services.boards_service import BoardsService
from ..services.log_service import LogService
from ..web import actor, done, respond


class NewBoard(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    first_note: str | None = Field(default=None, max_length=5000)


class NewNote(BaseModel):
    body: str = Field(min_length=1, max_length=5000)


def _user(ctx: HttpCtx) -> int:
    user_id = actor(ctx).id  # NotSignedIn when anonymous (the routes require a user first)
    assert user_id is not None  # a signed-in user, never the app itself
    return user_id


class BoardsController:
    async def index(self, ctx: HttpCtx) -> Any:
        return respond(
            ctx,
            "boards/list.html",
            {"boards": await BoardsService(ctx).all()},
            values={},
            errors={},
        )

    async def create(self, ctx: HttpCtx, body: NewBoard) -> Any:
        board_id = await BoardsService(ctx).create(
            _user(ctx), body.title, body.description or None, body.first_note or None
        )
        return done(ctx, f"/boards/{board_id}", {"id": board_id}, "flash.board_created", status=201)

    async def show(self, ctx: HttpCtx, board_id: int) -> Any:
        service = BoardsService(ctx)
        data = {"board": await service.get(board_id), "notes": await service.notes(board_id)}
        return respond(ctx, "boards/show.html", data, values={}, errors={})

    async def add_note(self, ctx: HttpCtx, board_id: int, body: NewNote) -> Any:
        note_id = await BoardsService(ctx).add_note(board_id, _user(ctx), body.body)
        await ctx.ws.broadcast(f"board:{board_id}", "note", {"id": note_id})
        return done(ctx, f"/boards/{board_id}", {"id": note_id}, "flash.note_added", status=201)

    async def delete(self, ctx: HttpCtx, board_id: int) -> Any:
        await BoardsService(ctx).delete(board_id, actor=actor(ctx))
        return done(ctx, "/boards", {"deleted": board_id}, "flash.board_deleted")

    async def logs(self, ctx: HttpCtx, limit: int = Field(default=50, ge=1, le=500)) -> Any:
        """The audit trail (the partitioned ``logs`` table), newest first."""
        return respond(ctx, "logs.html", {"logs": await LogService(ctx).recent(limit)})
