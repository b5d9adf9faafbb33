"""{{ Name }}Controller: the {{ name }} pages and API of the {{ app }} app."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mega.plugins.http import HttpCtx


class New{{ Name }}(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class {{ Name }}Controller:
    async def index(self, ctx: HttpCtx, limit: int = 20) -> dict[str, Any]:
        """List {{ name }}."""
        return {"items": [], "limit": limit}

    async def show(self, ctx: HttpCtx, item_id: int) -> dict[str, Any]:
        """Show one of {{ name }}."""
        return {"id": item_id}

    async def create(self, ctx: HttpCtx, body: New{{ Name }}) -> New{{ Name }}:
        """Create one of {{ name }}."""
        ctx.status = 201
        return body
