"""Rendering events as Telegram HTML: escaping, UTF-16 lengths, splitting and packing."""

from __future__ import annotations

from mega.plugins.telegram.message import MESSAGE_LIMIT, pack, render_event, split_escaped, units


def test_lengths_are_counted_in_utf16_units_as_telegram_counts_them():
    assert units("abc") == 3 and units("é") == 1 and units("🙂") == 2


def test_a_split_never_cuts_an_entity_and_prefers_a_line_break():
    chunks = split_escaped("<" * 10, 9)  # "&lt;" is 4 units: two fit in 9
    assert chunks == ["&lt;&lt;"] * 5
    text = "a" * 6 + "\n" + "b" * 3
    assert split_escaped(text, 8) == ["a" * 6, "b" * 3]


def test_an_event_renders_header_fields_and_traceback_escaped():
    pieces = render_event(
        {"event": "x<y", "level": "error", "n": 3, "exception": "Traceback\nE: <>\n"},
        title="a&b",
    )
    assert pieces == [
        "🔴 <b>ERROR</b> · <b>a&amp;b</b> x&lt;y",
        "n: 3",
        "<pre>Traceback\nE: &lt;&gt;</pre>",
    ]


def test_packing_fills_messages_up_to_the_limit_and_keeps_order():
    blocks = [[f"event {i}", "x" * 1000] for i in range(10)]
    messages = pack(blocks)
    assert all(units(m) <= MESSAGE_LIMIT for m in messages)
    assert len(messages) == 3
    joined = "\n".join(messages)
    assert [joined.index(f"event {i}\n") for i in range(10)] == sorted(
        joined.index(f"event {i}\n") for i in range(10)
    )
    assert pack([["a", "b"], ["c"]]) == ["a\nb\n\nc"]
