"""Test helpers of the schedule plugin (re-exported by ``mega.testing``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mega import Event

if TYPE_CHECKING:
    from mega import App

    from .scheduler import Scheduler


async def fire_schedule(app: App, schedule: type | str) -> Event:
    """Fire a schedule of a booted app now (through its lock); returns the final event.

    The event is ``done`` (``event.result`` is what ``run`` returned), ``fail`` (``event.error``)
    or ``skip`` (``event.reason``). Needs the ``schedule`` plugin enabled.
    """
    scheduler: Scheduler = app.extension("schedule", needed_by="fire_schedule")
    name = schedule if isinstance(schedule, str) else schedule.__name__
    event: Event = await scheduler.fire_now(name)
    return event


__all__ = ["fire_schedule"]
