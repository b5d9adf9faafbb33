"""The ``[plugins.secure]`` table.

Key material is a ``SecretStr``: it appears in no repr, config dump, error or log line. The
checks that look at a table holding keys (ids, lengths, the current ticket key) run at boot in
the plugin (``secure.invalid_key``, ``secure.invalid_config``), not in these models: a model's
validation error quotes its input, and that input would hold the keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mega import PluginConfig


class ClientKeys(BaseModel):
    """``[plugins.secure.clients.<client id>]``: the keys one client may use, by key id.

    Two ids listed at once is a rotation in progress: both are accepted until the old one is
    removed (or passes ``not_after``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: key id -> base64 (or base64url) of 32 random bytes
    keys: dict[str, SecretStr] = Field(min_length=1)
    #: key id -> the Unix time (seconds) after which that key is refused (secure.key_expired)
    not_after: dict[str, int] = Field(default_factory=dict)


class AgreementSettings(BaseModel):
    """``[plugins.secure.agreement]``: keys agreed per client (X25519 or P-256 + HKDF) at
    ``path``, handed back as sealed tickets any process holding ``ticket_keys`` can open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    path: str = "/secure/handshake"
    #: how long an agreed key is accepted
    ttl_s: int = Field(default=86_400, gt=0, le=30 * 86_400)
    #: the id of the ticket key new tickets are sealed under
    current: str = ""
    #: ticket key id -> base64 of 32 random bytes; old ids stay listed while their tickets live
    ticket_keys: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("must start with '/'")
        return path


class SecureSettings(PluginConfig):
    """The ``[plugins.secure]`` table."""

    #: the cache adapter alias of the replay cache ([adapters.cache.<alias>]); a shared driver
    #: (redis, file) refuses a replay across processes, memory within one
    cache: str = "default"
    #: how far a message's timestamp may be from the server's clock, either way
    skew_s: float = Field(default=60.0, gt=0, le=3600)
    #: path prefixes whose requests must be enveloped (others may be: opt-in per request)
    paths: tuple[str, ...] = ()
    #: WebSockets: off (frames untouched), optional (sockets offering mega.secure.<kid> are
    #: encrypted), required (every socket must)
    ws: Literal["off", "optional", "required"] = "optional"
    #: where the browser client is served
    client_js_path: str = "/secure/client.js"
    clients: dict[str, ClientKeys] = Field(default_factory=dict)
    agreement: AgreementSettings = AgreementSettings()

    @field_validator("paths")
    @classmethod
    def _prefixes(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"path prefix {path!r} must start with '/'")
        return paths
