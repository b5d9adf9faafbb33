"""{{ Name }}Channel: WebSocket topic "{{ snake }}:{id}" of the {{ app }} app.

Browsers connect with the JavaScript client served at /ws/client.js:
    const room = new MegaSocket("/ws").channel("{{ snake }}:1", {name: "Ada"});
    room.onPresence((list) => console.log(Object.keys(list)));
    await room.join();
    await room.push("say", {text: "hi"});
"""

from __future__ import annotations

from typing import Any

from mega.plugins.ws import Channel, ChannelCtx, UnknownEvent


class {{ Name }}Channel(Channel):
    topic = "{{ snake }}:{id}"

    async def authorize(self, ctx: ChannelCtx, topic: str, params: dict[str, str]) -> bool:
        # ctx.conn.identity is the signed-in user (session or bearer token), None if anonymous
        return True

    async def on_join(self, ctx: ChannelCtx, payload: Any) -> Any:
        name = str(payload.get("name") or "anonymous") if isinstance(payload, dict) else "anonymous"
        ctx.track(key=str(ctx.conn.identity or name), meta={"name": name})
        return {"topic": ctx.topic}

    async def on_message(self, ctx: ChannelCtx, event: str, payload: Any) -> Any:
        if event == "say":
            await ctx.broadcast(ctx.topic, "said", {"text": str(payload.get("text", ""))})
            return {"sent": True}
        raise UnknownEvent(event, ["say"])
