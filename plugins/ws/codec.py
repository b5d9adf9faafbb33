"""Frame codecs (``mega_ws_frame_codec``): what one socket's frames go through, composed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .hooks import FrameCodec, OpenCodec


class Nested:
    """Several plugins' codecs as one: the first plugin's outermost (it decodes first and
    encodes last)."""

    __slots__ = ("codecs",)

    def __init__(self, codecs: Sequence[FrameCodec]) -> None:
        self.codecs = tuple(codecs)

    async def decode(self, data: str | bytes) -> str | bytes:
        for codec in self.codecs:
            data = await codec.decode(data)
        return data

    def encode(self, text: str) -> str:
        for codec in reversed(self.codecs):
            text = codec.encode(text)
        return text


def open_codec(openers: Sequence[OpenCodec], scope: Any) -> FrameCodec | None:
    """The codec of the socket ``scope`` describes, or None (its frames stay as they are)."""
    codecs = [codec for codec in (open_(scope) for open_ in openers) if codec is not None]
    if len(codecs) <= 1:
        return codecs[0] if codecs else None
    return Nested(codecs)
