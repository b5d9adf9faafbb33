"""The schedule plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin.

Each is a factory the schedule plugin calls once per boot, after every plugin's
``mega_before_boot`` and before the first fire; what it returns runs on every fire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mega import Listener, hookspec

if TYPE_CHECKING:
    from mega import App

#: ``wrap(schedule name, fire_time)``: a context manager around one fire's run
FireWrapper = Callable[[str, datetime], AbstractContextManager[Any]]


@hookspec
def mega_schedule_listeners(app: App) -> Mapping[str, Listener] | None:
    """Listeners of the schedules' events, by event name; each gets a ``mega.Event``:

    - ``fire``: a fire's run starts on this instance (schedule, fire_time)
    - ``skip``: a fire was not run here (schedule, fire_time, reason: locked, backend-error,
      overlap, misfire)
    - ``done``: the run succeeded (schedule, fire_time, duration_s, result)
    - ``fail``: it failed (schedule, fire_time, phase: run, lock-extend, release, cancelled;
      error; duration_s when it ran)

    An error in a listener is logged and changes nothing; an unknown event name fails at boot.
    """


@hookspec
def mega_schedule_wrap_fire(app: App) -> FireWrapper | None:
    """A context manager factory around each fire's run (see ``FireWrapper``); several nest
    in plugin order, the first outermost."""
