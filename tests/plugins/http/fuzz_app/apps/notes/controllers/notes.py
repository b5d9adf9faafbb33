"""A small CRUD API for the schemathesis fuzz test (in-memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from mega import MegaNotFoundError
from mega.plugins.http import HttpCtx


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(default="", max_length=2_000)
    priority: Literal["low", "normal", "high"] = "normal"
    tags: list[str] = Field(default_factory=list, max_length=10)


class Note(NoteIn):
    id: int
    created_at: datetime


NOTES: dict[int, Note] = {}


def _get(note_id: int) -> Note:
    try:
        return NOTES[note_id]
    except KeyError:
        raise MegaNotFoundError("notes.not_found", f"no note {note_id}", {"id": note_id}) from None


class NotesController:
    async def index(
        self,
        ctx: HttpCtx,
        limit: int = Field(default=20, ge=1, le=100),
        priority: Literal["low", "normal", "high"] | None = None,
    ) -> list[Note]:
        """List notes."""
        found = [n for n in NOTES.values() if priority is None or n.priority == priority]
        return found[:limit]

    async def show(self, ctx: HttpCtx, note_id: int) -> Note:
        """Show a note."""
        return _get(note_id)

    async def create(self, ctx: HttpCtx, body: NoteIn) -> Note:
        """Create a note."""
        note = Note(id=len(NOTES) + 1, created_at=datetime.now(UTC), **body.model_dump())
        NOTES[note.id] = note
        return note

    async def update(self, ctx: HttpCtx, note_id: int, body: NoteIn) -> Note:
        """Replace a note."""
        note = _get(note_id).model_copy(update=body.model_dump())
        NOTES[note_id] = note
        return note

    async def remove(self, ctx: HttpCtx, note_id: int) -> dict[str, int]:
        """Delete a note."""
        _get(note_id)
        del NOTES[note_id]
        return {"deleted": note_id}
