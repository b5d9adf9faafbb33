"""BoardChannel: who is looking at a board, live (topic ``board:{id}``).

Only signed-in users may join (the session's ``user_id`` is the connection's identity); each
user is one presence key however many tabs they have open, with their name as meta. The page
(views/boards/show.html + static/presence.js) lists ``presence_state``/``presence_diff``.
"""

from __future__ import annotations

from typing import Any

from mega.plugins.ws import Channel, ChannelCtx, UnknownEvent

from ..models.board import Board
from ..models.user import User


class BoardChannel(Channel):
    topic = "board:{id}"

    async def authorize(self, ctx: ChannelCtx, topic: str, params: dict[str, str]) -> bool:
        if ctx.conn.identity is None or not params["id"].isdigit():
            return False
        return await ctx.db().get(Board, int(params["id"])) is not None

    async def on_join(self, ctx: ChannelCtx, payload: Any) -> Any:
        user = await ctx.db().get(User, int(ctx.conn.identity))
        name = user["name"] if user else "?"
        ctx.track(key=str(ctx.conn.identity), meta={"name": name})
        return {"topic": ctx.topic, "you": name}

    async def on_message(self, ctx: ChannelCtx, event: str, payload: Any) -> Any:
        raise UnknownEvent(event, [])
