"""The jobs plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin.

Each is a factory the jobs plugin calls once per boot, after every plugin's
``mega_before_boot``; what it returns runs on every enqueue or run. With no implementation
enqueue and run pay nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mega import Listener, hookspec

if TYPE_CHECKING:
    from mega import App

    from .transport import Delivery

#: ``wrap(subject, delivery)``: a context manager around one delivery's handling (decode, run,
#: ack / retry / DLQ); ``delivery.headers`` carries what ``MessageHeaders`` added at enqueue
RunWrapper = Callable[[str, "Delivery"], AbstractContextManager[Any]]
#: ``headers()``: headers to put on a message being enqueued (trace context...), or None;
#: called in the enqueuing task, so it sees that task's context
MessageHeaders = Callable[[], "Mapping[str, str] | None"]


@hookspec
def mega_jobs_listeners(app: App) -> Mapping[str, Listener] | None:
    """Listeners of the jobs' lifecycle events, by event name; each gets a ``mega.Event``
    whose fields are attributes:

    - ``dispatch``: stored by enqueue (subject, seq, stream, duplicate)
    - ``start``: a delivery's run starts (subject, seq, delivery_count, lag_s)
    - ``done``: it succeeded and is acked (subject, seq, result, duration_ms)
    - ``retry``: a failed attempt is retried in-process (subject, seq, attempt,
      retries_left, error)
    - ``fail``: a failure, by phase (subject, seq, error, phase: run, decode, timeout,
      dlq-publish, consume-loop…)
    - ``dlq``: the message moved to the dead-letter stream (subject, seq, dlq_subject, error)

    Each runs on the job's path: keep it to counting; an error is logged and changes
    nothing. An unknown event name fails at boot."""


@hookspec
def mega_jobs_wrap_run(app: App) -> RunWrapper | None:
    """A context manager factory around each delivery's handling (see ``RunWrapper``); several
    nest in plugin order, the first outermost."""


@hookspec
def mega_jobs_message_headers(app: App) -> MessageHeaders | None:
    """Headers every enqueued message carries (see ``MessageHeaders``); several are merged in
    plugin order."""
