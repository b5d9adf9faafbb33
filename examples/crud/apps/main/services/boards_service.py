"""BoardsService: boards and the notes users leave on them."""

from __future__ import annotations

from typing import Any

from mega import Ctx
from mega.plugins.db import Database

from ..models.board import Board
from ..models.note import Note
from ..models.user import User
from . import access
from .access import Actor
from .errors import NotFound
from .log_service import LogService


class BoardsService:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.db: Database = ctx.db()

    async def all(self) -> list[dict[str, Any]]:
        boards = await self.db.find(Board, order_by="-id", limit=100)
        owners = await self._names({b["owner_id"] for b in boards})
        return [b | {"owner": owners.get(b["owner_id"], "?")} for b in boards]

    async def get(self, board_id: int) -> dict[str, Any]:
        board = await self.db.get(Board, board_id)
        if board is None:
            raise NotFound("boards.not_found", f"no board {board_id}", {"id": board_id})
        return board

    async def notes(self, board_id: int) -> list[dict[str, Any]]:
        notes = await self.db.find(Note, where={"board_id": board_id}, order_by="id")
        authors = await self._names({n["author_id"] for n in notes})
        return [n | {"author": authors.get(n["author_id"], "?")} for n in notes]

    async def create(
        self, owner_id: int, title: str, description: str | None, first_note: str | None
    ) -> int:
        """The board and its first note commit together, or neither does."""
        async with self.db.transaction():
            board_id = await self.db.insert(
                Board, {"owner_id": owner_id, "title": title, "description": description}
            )
            if first_note:
                await self.db.insert(
                    Note, {"board_id": board_id, "author_id": owner_id, "body": first_note}
                )
        await LogService(self.ctx).write("board.created", owner_id, board=board_id)
        return int(board_id)

    async def add_note(self, board_id: int, author_id: int, body: str) -> int:
        await self.get(board_id)
        note_id = await self.db.insert(
            Note, {"board_id": board_id, "author_id": author_id, "body": body}
        )
        return int(note_id)

    async def delete(self, board_id: int, *, actor: Actor) -> None:
        """Only the board's owner (``access``): boards are shared, not moderated."""
        board = await self.get(board_id)
        access.check_delete_board(actor, board)
        await self.db.delete(Board, Board.id == board_id)  # its notes: cascade
        await LogService(self.ctx).write("board.deleted", actor.id, board=board_id)

    async def _names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self.db.find(User, User.id.in_(sorted(ids)))
        return {r["id"]: r["name"] for r in rows}
