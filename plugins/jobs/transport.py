"""The contract between the job queue and a bus driver (``nats``, ``local``).

A driver stores messages durably per subject (a work stream plus a ``<subject>.dlq`` stream),
hands them out through a durable pull consumer with JetStream's semantics (ack wait lease,
``max_deliver``, ``max_ack_pending`` for the whole group, delayed naks that keep their slot) and
answers the operator questions behind ``mega jobs``. The queue holds every job policy (retries,
timeouts, DLQ routing, events); a driver holds none.
"""

# No `from __future__ import annotations`: typing.NamedTuple would compile a ForwardRef per field.

from typing import Any, NamedTuple, Protocol


class Published(NamedTuple):
    """Where an enqueued message landed. ``duplicate``: an earlier message had its ``msg_id``."""

    seq: int
    stream: str
    duplicate: bool


class StreamLimits(NamedTuple):
    """How a driver should create a subject's streams (applied when they are created)."""

    dlq_max_age_ms: int  # 0 = keep forever
    dlq_max_bytes: int | None
    duplicate_window_ms: int


class ConsumerConfig(NamedTuple):
    """The durable consumer of one subject."""

    subject: str
    concurrency: int  # max_ack_pending, group wide
    ack_wait_ms: int
    max_deliver: int


class SubjectStats(NamedTuple):
    """``mega jobs status``: one subject's numbers."""

    subject: str
    depth: int  # messages in the work stream (waiting, in flight, or stuck past max_deliver)
    pending: int  # not yet delivered to any worker
    in_flight: int  # delivered, not yet acknowledged
    redelivered: int  # in flight on a second or later delivery
    dlq_depth: int


class DeadLetter(NamedTuple):
    """One message of a DLQ stream: its sequence there and the decoded envelope."""

    seq: int
    envelope: dict[str, Any]


class Delivery(Protocol):
    """One delivery of a message to this worker."""

    @property
    def data(self) -> bytes: ...

    @property
    def seq(self) -> int:
        """The message's sequence in its work stream."""
        ...

    @property
    def delivery_count(self) -> int: ...

    @property
    def headers(self) -> dict[str, str]:
        """The headers the message was published with (``{}`` when none)."""
        ...

    @property
    def stored_at(self) -> float:
        """When the message was stored (unix seconds): start minus this is the queue lag."""
        ...

    async def ack(self) -> None:
        """Done: remove the message. Fire and forget, like JetStream's ``+ACK``."""

    async def nak(self, delay_s: float | None = None) -> None:
        """Deliver again, after ``delay_s`` (the message keeps its in-flight slot meanwhile)."""

    async def in_progress(self) -> None:
        """Still working: restart the ack-wait lease."""


class Consumer(Protocol):
    """A durable pull consumer of one subject."""

    async def fetch(self, batch: int, timeout_s: float) -> list[Delivery]:
        """Up to ``batch`` deliveries; ``[]`` when none arrived within ``timeout_s``."""
        ...

    async def reset(self) -> None:
        """Re-create the subscription after an error (a server restart can leave it dead)."""

    async def close(self) -> None: ...

    # Optional: ``def interrupt(self) -> None`` ends a fetch that is waiting for messages, at
    # once and without claiming any, so a stopping worker does not wait out the fetch timeout.
    # Without it, stopping waits for the fetch to end by itself (at most its timeout).


class JobBus(Protocol):
    """What the ``bus`` adapters offer the jobs plugin."""

    alias: str

    async def ensure_streams(self, subject: str, limits: StreamLimits) -> None:
        """Create the work stream and the DLQ stream of ``subject`` unless they exist."""

    async def publish(
        self,
        subject: str,
        data: bytes,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Published:
        """Store one message (and its headers, e.g. ``traceparent``) durably; returns once the
        store confirmed it."""
        ...

    def is_missing_stream(self, error: BaseException) -> bool:
        """Whether ``error`` (from a publish) means the subject's stream does not exist."""
        ...

    async def publish_many(
        self, subject: str, items: list[bytes], headers: dict[str, str] | None = None
    ) -> list[Published]:
        """Store many messages (sharing ``headers``), pipelined; returns once every one is
        confirmed."""
        ...

    async def publish_dead_letter(self, subject: str, data: bytes) -> None:
        """Store ``data`` in the DLQ stream of ``subject``; raises if it was not stored."""

    async def consumer(self, config: ConsumerConfig) -> Consumer:
        """The durable consumer of ``config.subject``, created or updated to ``config``."""
        ...

    async def stats(self, subject: str) -> SubjectStats: ...

    async def dead_letters(self, subject: str, limit: int = 100) -> list[DeadLetter]: ...

    async def dead_letter(self, subject: str, seq: int) -> DeadLetter: ...

    async def delete_dead_letter(self, subject: str, seq: int) -> None: ...

    async def purge_dead_letters(self, subject: str) -> int:
        """Remove every message of the DLQ stream; returns how many."""
        ...

    async def subjects(self) -> list[str]:
        """Subjects that have streams on this bus (for ``mega jobs status`` without an app)."""
        ...
