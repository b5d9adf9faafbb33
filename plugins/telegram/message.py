"""Log events as Telegram messages: HTML with every value escaped, packed into messages of at
most 4096 characters.

Telegram counts a message's length in UTF-16 code units of its text; we count the HTML source,
which is never shorter than the text it parses to, so a packed message is never refused as too
long. Text is split between escaped characters, never inside an entity (``&amp;``) or a tag.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: the Bot API's limit on a message's text
MESSAGE_LIMIT: Final = 4096
_ICONS: Final = {"DEBUG": "⚪", "INFO": "🔵", "WARNING": "🟡", "ERROR": "🔴", "CRITICAL": "🛑"}
#: keys rendered in the header (or dropped), not as fields
_HEADER_KEYS: Final = frozenset({"event", "level", "exception", "exc_info"})


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>``: the only characters Telegram's HTML mode needs escaped."""
    return html.escape(text, quote=False)


def units(text: str) -> int:
    """The length Telegram measures: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def split_escaped(text: str, budget: int) -> list[str]:
    """``text`` escaped, in chunks of at most ``budget`` units; a cut prefers a line break."""
    escaped = escape(text)
    if units(escaped) <= budget:
        return [escaped]
    chunks: list[str] = []
    buf: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        cost = units(piece)
        if size + cost > budget and buf:
            cut = len(buf)
            newline = max((i for i, p in enumerate(buf) if p == "\n"), default=-1)
            if newline > len(buf) // 2:
                cut = newline
            chunks.append("".join(buf[:cut]))
            buf = buf[cut:]
            if buf and buf[0] == "\n":
                buf = buf[1:]
            size = sum(units(p) for p in buf)
        buf.append(piece)
        size += cost
    if buf:
        chunks.append("".join(buf))
    return chunks


def _value(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def render_event(event: Mapping[str, Any], *, title: str = "") -> list[str]:
    """One event as HTML pieces (header, fields, traceback), each at most ``MESSAGE_LIMIT``."""
    level = str(event.get("level", "")).upper()
    head = f"{_ICONS.get(level, '•')} <b>{escape(level[:16])}</b>"
    if title:
        head += f" · <b>{escape(title)}</b>"
    name = _value(event.get("event", ""))
    pieces: list[str] = []
    if units(head) + 1 + units(escape(name)) <= MESSAGE_LIMIT:
        pieces.append(f"{head} {escape(name)}")
    else:
        pieces += [head, *split_escaped(name, MESSAGE_LIMIT)]
    for key, value in event.items():
        if key not in _HEADER_KEYS:
            pieces += split_escaped(f"{key}: {_value(value)}", MESSAGE_LIMIT)
    exception = event.get("exception")
    if exception:
        wrap = units("<pre></pre>")
        pieces += [
            f"<pre>{c}</pre>" for c in split_escaped(str(exception).rstrip(), MESSAGE_LIMIT - wrap)
        ]
    return pieces


def pack(blocks: Iterable[list[str]], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack blocks of pieces (each at most ``limit``) into as few messages as fit: pieces of a
    block joined by a line break, blocks by a blank line; a block may continue in the next."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        for i, piece in enumerate(block):
            sep = "" if not current else ("\n\n" if i == 0 else "\n")
            cost = units(piece)
            if current and size + len(sep) + cost > limit:
                messages.append("".join(current))
                current, size, sep = [], 0, ""
            current += [sep, piece]
            size += len(sep) + cost
    if current:
        messages.append("".join(current))
    return messages
