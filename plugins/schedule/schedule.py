"""``Schedule``: what users subclass in ``apps/<app>/schedules/*.py``.

Everything a schedule declares is validated when the class is created, so a bad cron, time zone
or lock TTL fails the import (and the boot) naming the schedule — never at its first fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mega import Ctx, MegaConfigError, check_ttl

from .cron import Cron

if TYPE_CHECKING:
    from mega import App

OVERLAP_POLICIES = ("skip", "queue")


class ScheduleLock(NamedTuple):
    """Where a schedule's fires are locked: ``lock`` alias, ``ttl_ms``, ``key`` prefix."""

    lock: str
    ttl_ms: int
    key: str


class ScheduleCtx(Ctx):
    """The ``ctx`` a schedule's ``run`` receives: a ``Ctx`` plus the fire it is running."""

    __slots__ = ("abort", "fire_time", "lock_token", "schedule")

    def __init__(
        self,
        app: App,
        log: Any,
        schedule: str,
        fire_time: datetime,
        lock_token: int | None,
        abort: asyncio.Event,
    ) -> None:
        super().__init__(app, log)
        self.schedule = schedule
        #: the nominal fire time, in UTC
        self.fire_time = fire_time
        #: the fencing token of this fire's lock (None without a lock): guard writes with it
        self.lock_token = lock_token
        #: set when a lock was lost mid-run (an extension of the fire's lock or of the running
        #: lease failed): stop writing shared state
        self.abort = abort


class Schedule:
    """Subclass and set ``cron``; implement ``async def run(self, ctx)``.

    ``cron``: 5 fields, 6 with seconds first, or ``@hourly``-style aliases.
    ``timezone``: IANA name the cron is read in (default UTC).
    ``lock``: ``{"lock": alias, "ttl_ms": 30000, "key": "mega:schedule:<ClassName>"}`` to run
    each fire on exactly one instance; ``None`` runs on every instance.
    ``overlap``: when the previous run is still going on this instance: ``"skip"`` the fire, or
    ``"queue"`` one. With a ``lock``, a fire while a run goes on *another* instance is skipped
    too (a schedule-wide running lease, see docs/plugins/schedule.md).
    ``allow_overlap``: ``True`` lets a fire run while earlier runs are still going, here or on
    other instances (no running lease; each fire still runs once under its lock).
    ``jitter_ms``: wait a random 0..jitter before running (spreads load; the fire time, and so
    the lock key, stay nominal).
    ``misfire_grace_ms``: a fire missed by at most this much (process down, loop stalled) still
    runs, once; older fires are skipped.
    """

    cron: ClassVar[str]
    timezone: ClassVar[str] = "UTC"
    lock: ClassVar[Mapping[str, Any] | None] = None
    overlap: ClassVar[str] = "skip"
    allow_overlap: ClassVar[bool] = False
    jitter_ms: ClassVar[int] = 0
    misfire_grace_ms: ClassVar[int] = 1_000

    #: set by __init_subclass__ on concrete schedules (those with a cron)
    _cron: ClassVar[Cron | None] = None
    _lock: ClassVar[ScheduleLock | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "cron"):
            return  # an abstract base for other schedules
        name = cls.__name__

        def bad(code: str, rule: str, **details: Any) -> MegaConfigError:
            return MegaConfigError(
                code, f"schedule {name!r}: {rule}", {"schedule": name, **details}
            )

        try:
            tz = ZoneInfo(cls.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise bad(
                "schedule.invalid_timezone",
                f"timezone {cls.timezone!r} is not an IANA time zone name (e.g. "
                "'Europe/Berlin', 'UTC')",
                timezone=cls.timezone,
            ) from None
        if not isinstance(cls.cron, str):
            raise bad("schedule.invalid_cron", f"cron must be a string, got {cls.cron!r}")
        try:
            cls._cron = Cron(cls.cron, tz)
        except ValueError as exc:
            raise bad(
                "schedule.invalid_cron",
                f"cron {cls.cron!r} is invalid: {exc}. Use 5 fields (minute hour day "
                "month weekday), 6 with seconds first, or @hourly/@daily/@weekly/"
                "@monthly/@yearly",
                cron=cls.cron,
            ) from None
        if cls.overlap not in OVERLAP_POLICIES:
            raise bad(
                "schedule.invalid_overlap",
                f"overlap must be 'skip' or 'queue', got {cls.overlap!r}",
            )
        if not isinstance(cls.allow_overlap, bool):
            raise bad(
                "schedule.invalid_overlap",
                f"allow_overlap must be True or False, got {cls.allow_overlap!r}",
            )
        if cls.allow_overlap and cls.overlap == "queue":
            raise bad(
                "schedule.invalid_overlap",
                "allow_overlap = True runs every fire at once, so overlap = 'queue' has nothing "
                "to wait for; drop one of them",
            )
        for attr in ("jitter_ms", "misfire_grace_ms"):
            value = getattr(cls, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad(
                    f"schedule.invalid_{attr.removesuffix('_ms')}",
                    f"{attr} must be an integer >= 0, got {value!r}",
                )
        cls._lock = None if cls.lock is None else _lock_spec(cls, bad)

    @classmethod
    def schedule_name(cls) -> str:
        return cls.__name__

    async def run(self, ctx: ScheduleCtx) -> Any:
        raise NotImplementedError(f"schedule {type(self).__name__} must implement run(ctx)")


def _lock_spec(cls: type[Schedule], bad: Any) -> ScheduleLock:
    spec = cls.lock
    if not isinstance(spec, Mapping) or not set(spec) <= {"lock", "ttl_ms", "key"}:
        raise bad(
            "schedule.invalid_lock",
            f"lock must be a dict with keys lock (adapter alias), ttl_ms and optional key; "
            f"got {spec!r}",
        )
    alias = spec.get("lock", "default")
    key = spec.get("key", f"mega:schedule:{cls.__name__}")
    if not isinstance(alias, str) or not alias or not isinstance(key, str) or not key:
        raise bad(
            "schedule.invalid_lock", f"lock alias and key must be non-empty strings; got {spec!r}"
        )
    if "ttl_ms" not in spec:
        raise bad(
            "schedule.invalid_lock",
            "lock needs ttl_ms (how long one fire may hold it between extensions; e.g. 30000)",
        )
    try:
        ttl_ms = check_ttl(spec["ttl_ms"], what=f"schedule {cls.__name__!r}")
    except MegaConfigError as exc:
        exc.details["schedule"] = cls.__name__
        raise
    return ScheduleLock(alias, ttl_ms, key)
