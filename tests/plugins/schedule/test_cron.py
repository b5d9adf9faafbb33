"""Cron parsing and next-fire arithmetic, DST days pinned."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mega.plugins.schedule.cron import Cron

BERLIN = ZoneInfo("Europe/Berlin")


def fires(expr, start, count, tz=UTC):
    return [t.isoformat() for t in Cron(expr, tz).upcoming(start, count)]


def test_a_daily_0230_fires_once_at_0300_on_the_spring_forward_day():
    # Europe/Berlin jumps 02:00 -> 03:00 on 2026-03-29: 02:30 does not exist that day
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert fires("30 2 * * *", start, 3, BERLIN) == [
        "2026-03-29T01:00:00+00:00",  # 03:00 CEST, once
        "2026-03-30T00:30:00+00:00",
        "2026-03-31T00:30:00+00:00",
    ]


def test_a_daily_0230_fires_once_on_the_fall_back_day():
    # 2026-10-25: 03:00 CEST -> 02:00 CET, so 02:30 happens twice on the wall clock
    start = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    assert fires("30 2 * * *", start, 3, BERLIN) == [
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]


def test_an_hourly_schedule_fires_at_both_0230s_of_the_fall_back_night():
    start = datetime(2026, 10, 25, 1, tzinfo=BERLIN)
    assert fires("30 * * * *", start, 3, BERLIN) == [
        "2026-10-24T23:30:00+00:00",
        "2026-10-25T00:30:00+00:00",
        "2026-10-25T01:30:00+00:00",
    ]


def test_six_fields_put_seconds_first():
    start = datetime(2026, 1, 1, 0, 0, 50, tzinfo=UTC)
    assert fires("*/20 * * * * *", start, 4) == [
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:01:20+00:00",
        "2026-01-01T00:01:40+00:00",
        "2026-01-01T00:02:00+00:00",
    ]
    assert fires("5,10 30 9 * * *", start, 3) == [
        "2026-01-01T09:30:05+00:00",
        "2026-01-01T09:30:10+00:00",
        "2026-01-02T09:30:05+00:00",
    ]


def test_next_after_is_strictly_after():
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert Cron("0 12 * * *", UTC).next_after(at) == datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert Cron("* * * * * *", UTC).next_after(at) == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("@hourly", "2026-01-01T01:00:00+00:00"),
        ("@daily", "2026-01-02T00:00:00+00:00"),
        ("@weekly", "2026-01-04T00:00:00+00:00"),
        ("@monthly", "2026-02-01T00:00:00+00:00"),
        ("@yearly", "2027-01-01T00:00:00+00:00"),
    ],
)
def test_aliases(alias, expected):
    assert fires(alias, datetime(2026, 1, 1, tzinfo=UTC), 1) == [expected]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * *", "expected 5 fields"),
        ("61 * * * *", "[Bb]ad minute"),
        ("*/0 * * * * *", "step"),
        ("70 * * * * *", "out of range"),
        ("@reboot", "unknown alias"),
    ],
)
def test_invalid_expressions_say_why(expr, message):
    with pytest.raises(ValueError, match=message):
        Cron(expr, UTC)


def test_the_seconds_field_keeps_both_0230s_of_the_fall_back_night_apart():
    start = datetime(2026, 10, 25, 2, 30, 20, tzinfo=BERLIN)  # the first 02:30:20 (CEST)
    assert fires("15,45 30 * * * *", start, 3, BERLIN) == [
        "2026-10-25T00:30:45+00:00",
        "2026-10-25T01:30:15+00:00",
        "2026-10-25T01:30:45+00:00",
    ]
