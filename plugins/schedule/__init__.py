"""The ``schedule`` plugin: cron schedules that run exactly once per fire across all instances.

Schedules live in ``apps/<app>/schedules/*.py`` (``mega g schedule <Name>``). With a ``lock``,
each fire runs on one instance only, under a lock from the ``lock`` adapter kind (``sqlite``,
``redis``, ``postgres`` drivers), auto-extended while it runs, with a fencing token in
``ctx.lock_token``; a schedule-wide running lease skips a fire (reason ``overlap``) while a run
goes on any instance, unless the schedule sets ``allow_overlap``. See docs/plugins/schedule.md.
"""

from __future__ import annotations

from pydantic import Field

from mega import App, PluginConfig, PluginRegistry, PluginSpec, hookimpl

from . import hooks
from .discovery import discover_schedules
from .schedule import Schedule, ScheduleCtx, ScheduleLock
from .scheduler import EVENTS, FAIL_PHASES, SKIP_REASONS, Scheduler


class ScheduleSettings(PluginConfig):
    """The ``[plugins.schedule]`` table."""

    #: run the schedule loops in this process (``mega run``/``serve``); off for tools that only
    #: need the app
    start: bool = True
    #: after a locked fire ends its lock is kept this long instead of deleted, so an instance
    #: whose clock lags by up to this much (or that catches the fire up after a restart) finds
    #: the fire taken. At least each schedule's misfire_grace_ms.
    keep_lock_ms: int = Field(default=60_000, ge=0)


plugin = PluginSpec(
    name="schedule",
    description="Cron schedules, exactly once per fire across instances, under fenced locks",
    config=ScheduleSettings,
    hooks=hooks,
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    from mega import scaffolds_dir

    from .cli import schedule_cli

    registry.generator(
        "schedule",
        dir=scaffolds_dir() / "schedule",
        description="A cron schedule in apps/<app>/schedules/, with a test that fires it",
        files=[
            {"path": "apps/{{ app }}/schedules/{{ snake }}.py", "template": "schedule.py.tpl"},
            {
                "path": "tests/{{ app }}/test_{{ snake }}_schedule.py",
                "template": "test_schedule.py.tpl",
            },
        ],
    )
    registry.command("schedule", schedule_cli, help="List schedules, or fire one now.")


@hookimpl
def mega_before_boot(app: App) -> None:
    settings = app.plugin_config("schedule")
    assert isinstance(settings, ScheduleSettings)
    scheduler = Scheduler(app, settings, discover_schedules(app.config.root))
    scheduler.check_locks()
    app.extensions["schedule"] = scheduler


@hookimpl
def mega_after_boot(app: App) -> None:
    scheduler: Scheduler = app.extensions["schedule"]
    scheduler.check_locks()  # schedules added by other plugins since before_boot
    scheduler.install_hooks(app)
    if scheduler.settings.start and not app.tool:
        scheduler.start()


@hookimpl
async def mega_before_shutdown(app: App) -> None:
    await app.extensions["schedule"].stop()


__all__ = [
    "EVENTS",
    "FAIL_PHASES",
    "SKIP_REASONS",
    "Schedule",
    "ScheduleCtx",
    "ScheduleLock",
    "ScheduleSettings",
    "Scheduler",
    "discover_schedules",
    "plugin",
]
