"""The scheduler: one loop per schedule, locked fires, overlap exclusion, events, graceful drain.

A locked fire takes the lock ``<key>:<fire time in UTC>`` **once** (no retry: waiting is not
deduplication). Not acquired → ``skip(reason="locked")``; the backend failing or not answering →
``skip(reason="backend-error")`` with the error. Acquired → unless the schedule sets
``allow_overlap``, the schedule-wide running lease ``<key>:running`` is tried once too: held by
another run, here or on another instance → ``skip(reason="overlap")``. Per-fire keys alone cannot
say "a run is still going" (the next fire has its own key), which is why the lease exists; it is
deleted when the run ends, and a crashed holder's expires after ``ttl_ms``.

Both locks are extended every ``ttl_ms/3`` while ``run`` lasts; a failed extension sets
``ctx.abort`` and emits ``fail(phase="lock-extend")``. When the run ends the fire's lock is **not
deleted**: its TTL is shortened to ``keep_lock_ms`` so an instance whose clock lags (or that
catches the fire up after a restart) finds it taken, and never runs a fire another instance
already ran or skipped. Keys are per fire, so keeping one never delays the next fire.
"""

from __future__ import annotations

import asyncio
import random
import warnings
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mega import Event, Events, Held, LockBackendError, MegaConfigError, MegaNotFoundError, nest

from .cron import Cron
from .schedule import Schedule, ScheduleCtx

if TYPE_CHECKING:
    from mega import App

    from . import ScheduleSettings

EVENTS = ("fire", "skip", "done", "fail")
SKIP_REASONS = ("locked", "backend-error", "overlap", "misfire")
FAIL_PHASES = ("run", "lock-extend", "release", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


def fire_key(key: str, fire_time: datetime) -> str:
    """The lock key of one fire: exactly one instance runs (or skips) each fire time."""
    return f"{key}:{fire_time.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def running_key(key: str) -> str:
    """The schedule-wide lease key, held while any instance runs the schedule."""
    return f"{key}:running"


#: how each skip reason is logged: a lost race for a fire is routine on every instance but one
_SKIP_LOG_LEVELS = {"locked": "debug", "backend-error": "warning"}


class Scheduler:
    """Runs the schedules of one app. Reached as ``app.extensions["schedule"]``."""

    def __init__(self, app: App, settings: ScheduleSettings, schedules: list[type[Schedule]]):
        self.app = app
        self.settings = settings
        self.schedules: dict[str, type[Schedule]] = {}
        for cls in schedules:
            self.add(cls)
        #: subscribe with ``scheduler.events.on("skip", listener)``
        self.events = Events("scheduler", EVENTS)
        self.log = app.log.bind(plugin="schedule")
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._queued: set[str] = set()
        self._fires: set[asyncio.Task[Any]] = set()
        #: the mega_schedule_wrap_fire implementations, nested (``install_hooks``); None
        #: costs one check a fire
        self._wrap_fire: Any = None

    def install_hooks(self, app: App) -> None:
        """Collect the ``mega_schedule_*`` implementations (once, before the first fire)."""
        for plugin, listeners in app.hooks.collect_by_plugin("mega_schedule_listeners", app=app):
            self.events.attach(listeners, source=f"plugin {plugin!r}")
        self._wrap_fire = nest(app.hooks.collect("mega_schedule_wrap_fire", app=app))

    @property
    def around_fire(self) -> Any:
        """Deprecated: implement ``mega_schedule_wrap_fire``."""
        return self._wrap_fire

    @around_fire.setter
    def around_fire(self, wrap: Any) -> None:
        warnings.warn(
            "assigning scheduler.around_fire is deprecated and goes in the next release: "
            "implement the mega_schedule_wrap_fire hook",
            DeprecationWarning,
            stacklevel=2,
        )
        self._wrap_fire = wrap

    def add(self, cls: type[Schedule]) -> None:
        """Add a schedule class (discovered ones are added at boot)."""
        if not (isinstance(cls, type) and issubclass(cls, Schedule) and cls._cron is not None):
            raise MegaConfigError(
                "schedule.invalid_class",
                f"{cls!r} is not a schedule: subclass mega.plugins.schedule.Schedule and set cron",
                {"schedule": repr(cls)},
            )
        name = cls.schedule_name()
        other = self.schedules.get(name)
        if other is not None and other is not cls:
            raise MegaConfigError(
                "schedule.duplicate_name",
                f"two schedules are named {name!r}: {other.__module__} and {cls.__module__}; "
                "rename one class",
                {"schedule": name, "modules": [other.__module__, cls.__module__]},
            )
        self.schedules[name] = cls

    def check_locks(self) -> None:
        """Fail at boot when a schedule names a lock alias that is not configured."""
        for name, cls in self.schedules.items():
            if cls._lock is None:
                continue
            try:
                self.app.adapters.get("lock", cls._lock.lock)
            except MegaNotFoundError as exc:
                raise MegaConfigError(
                    "schedule.unknown_lock",
                    f"schedule {name!r} locks with [adapters.lock.{cls._lock.lock}], which is "
                    f"not configured; {exc.message}",
                    {"schedule": name, "lock": cls._lock.lock},
                ) from None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        for name, cls in sorted(self.schedules.items()):
            self._loops.append(asyncio.create_task(self._loop(cls), name=f"schedule:{name}"))
        self.log.debug("schedule.started", schedules=sorted(self.schedules))

    async def stop(self) -> None:
        """Stop firing; wait for running fires (the app's shutdown deadline bounds this).

        Fires still running when the deadline cancels the wait are cancelled; their locks are
        released on the way out.
        """
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
        try:
            while self._fires:
                await asyncio.gather(*list(self._fires), return_exceptions=True)
        except asyncio.CancelledError:
            for task in list(self._fires):
                task.cancel()
            await asyncio.gather(*list(self._fires), return_exceptions=True)
            raise

    async def fire_now(self, name: str) -> Event:
        """Fire ``name`` now (through its locks), wait, and return the final event.

        Like a scheduled fire, it is skipped with reason ``overlap`` while a run of the schedule
        is going, on this instance or (with a lock) any other, unless ``allow_overlap``.
        """
        try:
            cls = self.schedules[name]
        except KeyError:
            raise MegaNotFoundError(
                "schedule.unknown",
                f"no schedule named {name!r}; known: {', '.join(sorted(self.schedules))}",
                {"schedule": name, "known": sorted(self.schedules)},
            ) from None
        fire_time = utcnow().replace(microsecond=0)
        running = self._running.get(name)
        if not cls.allow_overlap and running is not None and not running.done():
            return self._skip(name, fire_time, "overlap")
        return await self._fire(cls, fire_time, jitter=False)

    async def _loop(self, cls: type[Schedule]) -> None:
        cron = cls._cron
        assert cron is not None
        grace = timedelta(milliseconds=cls.misfire_grace_ms)
        # start just before "now - grace": a fire missed within the grace runs once at start
        nxt = cron.next_after(utcnow() - grace)
        while True:
            delay = (nxt - utcnow()).total_seconds()
            if delay > 0:
                await asyncio.sleep(min(delay, 30))  # re-read the wall clock at least every 30 s
                continue
            now = utcnow()
            after = cron.next_after(nxt)
            if after > now and now - nxt <= grace:
                self._dispatch(cls, nxt)
                nxt = after
                continue
            # late past the grace, or stalled past several fires: skip the missed fire and run
            # only the latest one still within the grace — never a burst
            self._skip(cls.schedule_name(), nxt, "misfire", late_s=(now - nxt).total_seconds())
            latest = self._latest_within(cron, now, grace)
            if latest is not None:
                self._dispatch(cls, latest)
            nxt = cron.next_after(now)

    @staticmethod
    def _latest_within(cron: Cron, now: datetime, grace: timedelta) -> datetime | None:
        fire = cron.next_after(now - grace)
        if fire > now:
            return None
        while (following := cron.next_after(fire)) <= now:
            fire = following
        return fire

    def _dispatch(self, cls: type[Schedule], fire_time: datetime) -> None:
        name = cls.schedule_name()
        if cls.allow_overlap:
            self._track(asyncio.create_task(self._fire(cls, fire_time)))
            return
        # a run going on this instance is known without asking the lock backend; one going on
        # another instance is found by the running lease in _fire
        running = self._running.get(name)
        if running is not None and not running.done():
            if cls.overlap == "queue" and name not in self._queued:
                self._queued.add(name)
                self._track(asyncio.create_task(self._after(running, cls, fire_time)))
            else:
                self._skip(name, fire_time, "overlap")
            return
        task = asyncio.create_task(self._fire(cls, fire_time))
        self._running[name] = task
        self._track(task)

    async def _after(
        self, running: asyncio.Task[Any], cls: type[Schedule], fire_time: datetime
    ) -> None:
        await asyncio.wait([running])
        name = cls.schedule_name()
        self._queued.discard(name)
        task = asyncio.current_task()
        assert task is not None
        self._running[name] = task
        await self._fire(cls, fire_time)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._fires.add(task)
        task.add_done_callback(self._fires.discard)

    def _skip(self, name: str, fire_time: datetime, reason: str, **fields: Any) -> Event:
        level = _SKIP_LOG_LEVELS.get(reason, "info")
        getattr(self.log, level)(
            "schedule.skipped",
            schedule=name,
            fire_time=fire_time.isoformat(),
            reason=reason,
            **{k: repr(v) if isinstance(v, BaseException) else v for k, v in fields.items()},
        )
        return self.events.emit("skip", schedule=name, fire_time=fire_time, reason=reason, **fields)

    async def _release(
        self, name: str, fire_time: datetime, *locks: tuple[Held | None, int]
    ) -> None:
        """Release each ``(held, keep_ms)``; one ``fail(phase="release")`` if any fails."""
        error: LockBackendError | None = None
        for held, keep_ms in locks:
            if held is None:
                continue
            try:
                await held.release(keep_ms=keep_ms)
            except LockBackendError as exc:
                error = error or exc
        if error is not None:
            self.events.emit(
                "fail", schedule=name, fire_time=fire_time, phase="release", error=error
            )

    async def _fire(
        self, cls: type[Schedule], fire_time: datetime, *, jitter: bool = True
    ) -> Event:
        name = cls.schedule_name()
        if jitter and cls.jitter_ms:
            await asyncio.sleep(random.uniform(0, cls.jitter_ms / 1000))
        self.events.emit("fire", schedule=name, fire_time=fire_time)
        spec = cls._lock
        # a finished fire keeps its lock (clock skew); one cancelled by shutdown did not finish,
        # so its lock is released outright and another instance may still run it in its grace
        keep_ms = max(self.settings.keep_lock_ms, cls.misfire_grace_ms)
        held: Held | None = None
        lease: Held | None = None
        abort = asyncio.Event()
        if spec is not None:
            lock = self.app.adapters.get("lock", spec.lock)
            try:
                held = await lock.try_acquire(
                    fire_key(spec.key, fire_time), ttl_ms=spec.ttl_ms, fence=spec.key
                )
            except LockBackendError as exc:
                return self._skip(name, fire_time, "backend-error", error=exc)
            if held is None:
                return self._skip(name, fire_time, "locked")
            if not cls.allow_overlap:
                # taken after the fire's key, so the instances racing for one fire see "locked"
                # and only the winner reports "overlap"
                try:
                    lease = await lock.try_acquire(running_key(spec.key), ttl_ms=spec.ttl_ms)
                except LockBackendError as exc:
                    await self._release(name, fire_time, (held, 0))  # not decided: free it
                    return self._skip(name, fire_time, "backend-error", error=exc)
                except BaseException:  # cancelled: a held lock would be extended for ever
                    await self._release(name, fire_time, (held, 0))
                    raise
                if lease is None:
                    # the fire is decided (skipped): keep its key, or an instance whose clock
                    # lags would run it once the current run ends
                    skipped = self._skip(name, fire_time, "overlap")
                    await self._release(name, fire_time, (held, keep_ms))
                    return skipped

            def lost(h: Held) -> None:
                if not abort.is_set():  # one report per fire, whichever lock went first
                    abort.set()
                    self.events.emit(
                        "fail",
                        schedule=name,
                        fire_time=fire_time,
                        phase="lock-extend",
                        error=h.error,
                    )

            held.on_lost(lost)
            if lease is not None:
                lease.on_lost(lost)
        ctx = ScheduleCtx(
            self.app,
            self.log.bind(schedule=name, fire_time=fire_time.isoformat()),
            name,
            fire_time,
            held.token if held else None,
            abort,
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if self._wrap_fire is None:
                result = await cls().run(ctx)
            else:
                with self._wrap_fire(name, fire_time):
                    result = await cls().run(ctx)
        except asyncio.CancelledError:
            keep_ms = 0
            self.events.emit(
                "fail",
                schedule=name,
                fire_time=fire_time,
                phase="cancelled",
                error=None,
                duration_s=loop.time() - started,
            )
            raise
        except Exception as exc:
            self.log.error("schedule.run_failed", error=f"{type(exc).__name__}: {exc}")
            outcome = self.events.emit(
                "fail",
                schedule=name,
                fire_time=fire_time,
                phase="run",
                error=exc,
                duration_s=loop.time() - started,
            )
        else:
            # a lock lost mid-run (its fail(phase="lock-extend") was emitted then) means another
            # instance may have taken the fire and run it too: the run finished, but say so
            lock_lost = abort.is_set() and spec is not None
            if lock_lost:
                self.log.warning("schedule.finished_without_lock", schedule=name)
            outcome = self.events.emit(
                "done",
                schedule=name,
                fire_time=fire_time,
                result=result,
                duration_s=loop.time() - started,
                token=held.token if held else None,
                lock_lost=lock_lost,
            )
        finally:
            # the lease goes first and outright: the next fire, anywhere, may run now
            await self._release(name, fire_time, (lease, 0), (held, keep_ms))
        return outcome
