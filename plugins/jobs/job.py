"""``Job``: what users subclass in ``apps/<app>/jobs/*.py``.

Everything a job declares is checked when the class is created, so a bad subject, concurrency,
retry count, backoff or timeout fails the import (and the boot) naming the job — never silently
corrected, never discovered at the first message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from mega import Ctx, MegaConfigError

from .retry import Backoff, RetryPolicy

if TYPE_CHECKING:
    from mega import App

#: dot-separated tokens of letters, digits, ``_`` and ``-``: a literal NATS subject (no wildcards)
SUBJECT_RE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class JobCtx(Ctx):
    """The ``ctx`` a job's ``run`` receives: a ``Ctx`` plus the message being worked on."""

    __slots__ = ("_log", "delivery_count", "seq", "subject")

    def __init__(self, app: App, subject: str, seq: int, delivery_count: int) -> None:
        self.app = app
        self.subject = subject
        #: the message's sequence in its work stream (stable across redeliveries)
        self.seq = seq
        #: 1 on the first delivery; more after a worker died or a lease ran out
        self.delivery_count = delivery_count
        self._log: Any = None

    @property
    def log(self) -> Any:
        """The app logger bound with this job's subject and sequence (made on first use)."""
        if self._log is None:
            self._log = self.app.log.bind(job_subject=self.subject, job_seq=self.seq)
        return self._log


class Job:
    """Subclass, set ``subject`` and implement ``async def run(self, payload, ctx)``.

    ``subject``: where the job's messages go (``"emails.send"``); its work stream and DLQ
    (``<subject>.dlq``) are created on first use.
    ``bus``: the ``[adapters.bus.<alias>]`` the job uses.
    ``concurrency``: messages in flight at once **for the whole worker group** — it becomes
    the durable consumer's ``max_ack_pending``, so adding worker processes does not raise it.
    ``retries``: extra in-process attempts after a failed run (0 = none), ``backoff`` between.
    ``timeout_ms``: bound on the whole run including retries (None: the queue's default,
    30 min; 0: unlimited). A run that exceeds it is failed to the DLQ; it is not cancelled, so
    make ``run`` idempotent (delivery is at least once anyway).

    A run that raises is retried; when retries are exhausted the message goes to the DLQ with
    the error. It is acknowledged only once it finished or is safely in the DLQ.
    """

    subject: ClassVar[str]
    bus: ClassVar[str] = "default"
    concurrency: ClassVar[int] = 1
    retries: ClassVar[int] = 3
    backoff: ClassVar[Backoff | Mapping[str, Any]] = Backoff()
    timeout_ms: ClassVar[int | None] = None

    #: set by __init_subclass__ on concrete jobs (those with a subject)
    _retry: ClassVar[RetryPolicy | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "subject"):
            return  # an abstract base for other jobs
        cls._retry = RetryPolicy(_check_retries(cls), _check_backoff(cls))
        _check_subject(cls)
        _check_positive(cls, "concurrency", cls.concurrency)
        if not isinstance(cls.bus, str) or not cls.bus:
            raise _bad(cls, "invalid_bus", f"bus must be an adapter alias, got {cls.bus!r}")
        if cls.timeout_ms is not None:
            _check_int(
                cls,
                "timeout_ms",
                cls.timeout_ms,
                minimum=0,
                rule="an integer >= 0 (0 = unlimited) or None (the queue's run_timeout_ms)",
            )

    @classmethod
    def job_name(cls) -> str:
        return cls.__name__

    async def run(self, payload: Any, ctx: JobCtx) -> Any:
        raise NotImplementedError(f"job {type(self).__name__} must implement run(payload, ctx)")


def resolve_timeout_ms(job: type[Job], default_ms: int) -> int:
    """The job's run timeout: its own ``timeout_ms``, else ``default_ms``; 0 = unlimited."""
    return default_ms if job.timeout_ms is None else job.timeout_ms


def _bad(cls: type, code: str, rule: str, **details: Any) -> MegaConfigError:
    return MegaConfigError(
        f"job.{code}", f"job {cls.__name__!r}: {rule}", {"job": cls.__name__, **details}
    )


def _check_int(cls: type, attr: str, value: Any, *, minimum: int, rule: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(
            cls,
            f"invalid_{attr.split('.')[0].removesuffix('_ms')}",
            f"{attr} must be {rule}, got {value!r}",
            **{attr: value},
        )
    return value


def _check_positive(cls: type, attr: str, value: Any) -> int:
    return _check_int(cls, attr, value, minimum=1, rule="an integer >= 1")


def _check_retries(cls: type[Job]) -> int:
    return _check_int(
        cls,
        "retries",
        cls.retries,
        minimum=0,
        rule="an integer >= 0 (extra attempts after the first)",
    )


def _check_subject(cls: type[Job]) -> None:
    subject = cls.subject
    if not isinstance(subject, str) or not SUBJECT_RE.fullmatch(subject):
        raise _bad(
            cls,
            "invalid_subject",
            f"subject must be dot-separated tokens of letters, digits, '_' or '-' (no spaces, "
            f"no wildcards), like 'emails.send'; got {subject!r}",
            subject=subject,
        )
    if subject.endswith(".dlq"):
        raise _bad(
            cls,
            "invalid_subject",
            f"subject {subject!r} ends in '.dlq', which is kept for dead letters",
            subject=subject,
        )


def _check_backoff(cls: type[Job]) -> Backoff:
    spec = cls.backoff
    if isinstance(spec, Mapping) and not isinstance(spec, Backoff):
        unknown = set(spec) - set(Backoff._fields)
        if unknown:
            raise _bad(
                cls,
                "invalid_backoff",
                f"backoff has unknown keys {sorted(unknown)}; known: {', '.join(Backoff._fields)}",
            )
        spec = Backoff(**spec)
    if not isinstance(spec, Backoff):
        raise _bad(
            cls,
            "invalid_backoff",
            "backoff must be a Backoff(...) or a dict with "
            f"{', '.join(Backoff._fields)}; got {spec!r}",
        )
    initial = _check_int(
        cls, "backoff.initial_ms", spec.initial_ms, minimum=0, rule="an integer >= 0"
    )
    _check_int(
        cls,
        "backoff.max_ms",
        spec.max_ms,
        minimum=initial,
        rule=f"an integer >= initial_ms ({initial})",
    )
    factor = spec.factor
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 1:
        raise _bad(cls, "invalid_backoff", f"backoff.factor must be a number >= 1, got {factor!r}")
    if not isinstance(spec.jitter, bool):
        raise _bad(
            cls, "invalid_backoff", f"backoff.jitter must be true or false, got {spec.jitter!r}"
        )
    return spec
