"""What an avatar's bytes are: PNG, JPEG, GIF or WebP, whole — whatever the client declared.

A browser that is told ``image/png`` may still sniff HTML or SVG out of the bytes and run their
scripts on this site, so the declared type is ignored: the signature names the format, and its
structure is checked to the end (a PNG's chunks and their CRCs, a JPEG's end marker, a GIF's
trailer, a WebP's RIFF length), so a truncated or spliced file is refused too. Checking, not
decoding: no image library is needed; an app that resizes avatars would re-encode them instead.
"""

from __future__ import annotations

import struct
import zlib

from .errors import FieldError

ACCEPTED = ("image/png", "image/jpeg", "image/gif", "image/webp")
_NAMES = "PNG, JPEG, GIF or WebP"


def image_type(content: bytes) -> str:
    """The media type of a whole PNG, JPEG, GIF or WebP image; ``FieldError`` otherwise."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, whole = "image/png", _whole_png(content)
    elif content.startswith(b"\xff\xd8\xff"):
        kind, whole = "image/jpeg", content.endswith(b"\xff\xd9") and len(content) > 4
    elif content[:6] in (b"GIF87a", b"GIF89a"):
        kind, whole = "image/gif", len(content) > 13 and content.endswith(b";")
    elif content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        kind, whole = "image/webp", _whole_webp(content)
    else:
        raise FieldError(
            "users.avatar_type",
            "avatar",
            f"the avatar is not a {_NAMES} image",
            accepted=list(ACCEPTED),
        )
    if not whole:
        raise FieldError(
            "users.avatar_damaged",
            "avatar",
            f"the avatar looks like {kind} but is damaged or incomplete: upload a whole "
            f"{_NAMES} image",
            accepted=list(ACCEPTED),
        )
    return kind


def stored_type(content: bytes) -> str | None:
    """The type to serve a stored avatar with, or None: bytes that are no image are not served."""
    try:
        return image_type(content)
    except FieldError:
        return None


def _whole_png(content: bytes) -> bool:
    """IHDR first, every chunk's CRC right, IDAT present, IEND last and nothing after it."""
    at, seen = 8, []
    while at + 12 <= len(content):
        (length,) = struct.unpack_from(">I", content, at)
        kind = content[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(content):
            return False
        (crc,) = struct.unpack_from(">I", content, end - 4)
        if zlib.crc32(content[at + 4 : end - 4]) != crc:
            return False
        seen.append(kind)
        at = end
        if kind == b"IEND":
            break
    return (
        bool(seen)
        and seen[0] == b"IHDR"
        and b"IDAT" in seen
        and seen[-1] == b"IEND"
        and at == len(content)
    )


def _whole_webp(content: bytes) -> bool:
    """The RIFF length covers the file exactly and the first chunk is an image (VP8/VP8L/VP8X)."""
    if len(content) < 20:
        return False
    (riff_size,) = struct.unpack_from("<I", content, 4)
    (chunk_size,) = struct.unpack_from("<I", content, 16)
    return (
        riff_size + 8 == len(content)
        and content[12:16] in (b"VP8 ", b"VP8L", b"VP8X")
        and 20 + chunk_size <= len(content)
    )
