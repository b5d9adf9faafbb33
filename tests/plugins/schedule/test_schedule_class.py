"""Schedule classes are validated when defined, naming the schedule."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.plugins.schedule import Schedule


def define(**attrs):
    return type("Nightly", (Schedule,), attrs)


def test_a_valid_schedule_gets_its_cron_and_default_lock_key():
    cls = define(cron="0 3 * * *", timezone="Europe/Berlin", lock={"lock": "main", "ttl_ms": 5000})
    assert cls._cron.next_after is not None
    assert cls._lock == ("main", 5000, "mega:schedule:Nightly")


def test_a_class_without_cron_is_an_abstract_base():
    base = define()
    assert base._cron is None


@pytest.mark.parametrize(
    ("attrs", "code", "fragment"),
    [
        ({"cron": "99 * * * *"}, "schedule.invalid_cron", "cron '99 * * * *' is invalid"),
        ({"cron": "* * *"}, "schedule.invalid_cron", "expected 5 fields"),
        ({"cron": "@hourly", "timezone": "Mars/Olympus"}, "schedule.invalid_timezone", "IANA"),
        (
            {"cron": "@hourly", "lock": {"lock": "main", "ttl_ms": 100}},
            "lock.invalid_ttl",
            ">= 600",
        ),
        ({"cron": "@hourly", "lock": {"lock": "main"}}, "schedule.invalid_lock", "needs ttl_ms"),
        (
            {"cron": "@hourly", "lock": {"alias": "main", "ttl_ms": 1000}},
            "schedule.invalid_lock",
            "keys lock",
        ),
        ({"cron": "@hourly", "overlap": "wait"}, "schedule.invalid_overlap", "'skip' or 'queue'"),
        ({"cron": "@hourly", "allow_overlap": "yes"}, "schedule.invalid_overlap", "True or False"),
        (
            {"cron": "@hourly", "allow_overlap": True, "overlap": "queue"},
            "schedule.invalid_overlap",
            "drop one of them",
        ),
        ({"cron": "@hourly", "jitter_ms": -1}, "schedule.invalid_jitter", ">= 0"),
        ({"cron": "@hourly", "misfire_grace_ms": 1.5}, "schedule.invalid_misfire_grace", "integer"),
    ],
    ids=[
        "cron-range",
        "cron-fields",
        "timezone",
        "ttl",
        "no-ttl",
        "lock-keys",
        "overlap",
        "allow-overlap-type",
        "allow-overlap-with-queue",
        "jitter",
        "grace",
    ],
)
def test_invalid_declarations_fail_at_definition_naming_the_schedule(attrs, code, fragment):
    with pytest.raises(MegaConfigError) as err:
        define(**attrs)
    assert err.value.code == code
    assert "schedule 'Nightly'" in err.value.message
    assert fragment in err.value.message
    assert err.value.details["schedule"] == "Nightly"
