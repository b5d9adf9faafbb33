"""The ``[plugins.ws]`` table."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from mega import PluginConfig


class WsSettings(PluginConfig):
    """WebSocket serving, protection limits and presence timing."""

    #: where clients connect (``ws://host:port/ws``); the JS client is at ``<path>/client.js``
    path: str = Field(default="/ws", pattern=r"^/[A-Za-z0-9_\-/.]*$")
    #: the ``[adapters.presence.<alias>]`` linking this app's nodes; absent: one node, in-process
    presence: str = "default"
    #: browser origins allowed to connect; empty: only the page's own host; ["*"]: any
    allowed_origins: tuple[str, ...] = ()
    #: refuse the upgrade (401) when no session user or bearer token identifies the client
    require_auth: bool = False
    #: ``"module:function"``: ``async def f(conn: HTTPConnection) -> identity | None`` replacing
    #: the built-in (session ``user_id``, then a bearer token from ``issue_token``)
    authenticate: str | None = None
    #: the session key holding the signed-in user's id
    session_key: str = "user_id"
    #: lifetime of tokens made by ``issue_token``
    token_ttl_s: int = Field(default=3_600, gt=0)
    #: a client message above this many bytes closes the connection (1009)
    max_message_bytes: int = Field(default=65_536, ge=64)
    #: client messages per second per connection (token bucket); over it: ``ws.rate_limited``
    rate_limit_per_s: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    #: frames waiting for a slow client; past either bound it is disconnected (4001)
    send_buffer_frames: int = Field(default=1_024, ge=1)
    send_buffer_bytes: int = Field(default=4 * 1024 * 1024, ge=1_024)
    #: topics one connection may join
    max_topics: int = Field(default=100, ge=1)
    #: permessage-deflate offered by ``mega serve`` (each connection compresses on its own)
    compression: bool = False
    #: node heartbeat period
    heartbeat_ms: int = Field(default=1_000, ge=10)
    #: a node silent this long is down: its presences leave everywhere
    down_after_ms: int = Field(default=5_000, ge=50)
    #: presence diffs are batched per topic per tick
    presence_tick_ms: int = Field(default=50, ge=1)
    #: above this many presences in a topic, its diffs go out once per large_room_tick_ms
    large_room: int = Field(default=1_000, ge=1)
    large_room_tick_ms: int = Field(default=1_000, ge=1)

    @model_validator(mode="after")
    def _down_after_heartbeats(self) -> Self:
        if self.down_after_ms < 2 * self.heartbeat_ms:
            raise ValueError(
                f"down_after_ms ({self.down_after_ms}) must be at least twice heartbeat_ms "
                f"({self.heartbeat_ms}), or one late heartbeat declares a live node down"
            )
        return self
