"""The transactional outbox: a job enqueued inside ``db.transaction()`` is published after the
commit, and never after a rollback.

``enqueue`` inside a transaction on the outbox database (``[plugins.jobs] outbox_db``) writes
the message to the table ``mega_job_outbox`` on the transaction's connection, leased to this
process. Once the COMMIT succeeded (``Database.on_commit``) the same process publishes it with
the row's ``msg_id`` and deletes the row. What a crash, a SIGKILL or a bus that was down left
behind is published by the relay: txoutbox's ``Relay`` over this table (leases fenced by worker
id, so two relays never publish one row at once and a crashed relay's lease lapses; per-subject
order; backoff while the bus is down; adaptive polling of an idle table; a stop that finishes the
round in flight). Every publish of a row carries the same ``msg_id``, so the bus stores a retried
publish once within its duplicate window.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from txoutbox import Backoff, Hooks, OutboxMessage, OutboxStats, Relay, RelayConfig

from mega import MegaConfigError, get_logger
from mega.plugins.db import BigInt, Float, Index, Int, Model, String, Text

if TYPE_CHECKING:
    from mega.plugins.db import Database

    from .queue import JobQueue

TABLE = "mega_job_outbox"
#: headers that carry a row's bus alias and msg_id from the storage to the publisher
BUS_HEADER = "mega-outbox-bus"
MSG_ID_HEADER = "mega-outbox-msg-id"
#: the bus's duplicate window deduplicates by this prefix + a random id when no msg_id is given
MSG_ID_PREFIX = "outbox-"
MAX_ERROR_LEN = 2000
#: a relay round claims 50 rows and publishes 10 at a time: at most 5 publishes in a row
RELAY_BATCH, RELAY_CONCURRENCY = 50, 10
RELAY_ROUND_PUBLISHES = RELAY_BATCH // RELAY_CONCURRENCY
#: reads a claim makes when other relays keep taking the rows it chose
CLAIM_ROUNDS = 4
#: how long published rows wait to be deleted together (one DELETE for many commits)
DELETE_BATCH_DELAY_S = 0.05
DELETE_BATCH = 500


class JobOutbox(Model):
    """One message waiting to be published (``mega migrate make`` adds this table)."""

    __table__ = TABLE
    __indexes__ = [Index("status", "id")]

    id = BigInt(primary_key=True)
    bus = String(64, default="default")
    subject = String(255)
    #: publishes of one row share it: the bus stores it once within its duplicate window
    msg_id = String(255)
    #: the relay publishes the pending rows of one key in id order (jobs: bus/subject)
    key = String(320, nullable=True)
    payload = Text()
    headers = Text(nullable=True)
    #: pending, or dead (gave up after max attempts; kept for an operator)
    status = String(8, default="pending")
    attempts = Int(default=0)
    retry_at = Float(nullable=True)
    leased_by = String(128, nullable=True)
    lease_until = Float(nullable=True)
    last_error = Text(nullable=True)
    created_at = Float()


class Outboxed(NamedTuple):
    """What ``enqueue`` returns inside a transaction: the job is stored in the outbox and will
    be published after the commit (``msg_id`` is the one the bus deduplicates on)."""

    outbox_id: int
    msg_id: str


def worker_id(role: str) -> str:
    """A lease holder's name: host, process and a random part (unique per run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:8]}"


class OutboxStorage:
    """txoutbox's ``Storage`` over the ``mega_job_outbox`` table of any mega database.

    Claims are optimistic and portable (no ``SKIP LOCKED``): the pending rows are read in id
    order, then leased with one conditional UPDATE that only succeeds on rows still unleased
    with the attempt count that was read; a key whose earlier row was lost to another worker
    gives its later rows back, so one key is never split between two relays.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False

    # -- producer side ---------------------------------------------------------------------

    async def ready(self) -> bool:
        """Whether the table exists (checked until it does; inside a transaction through a
        savepoint, so a missing table does not abort the caller's transaction)."""
        if self._ready:
            return True
        db = self.db
        try:
            if db.in_transaction and db.dialect.capabilities.savepoints:
                async with db.transaction():
                    await db.count(JobOutbox, JobOutbox.id == 0)
            else:
                await db.count(JobOutbox, JobOutbox.id == 0)
        except Exception:
            return False
        self._ready = True
        return True

    async def insert(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        leased_by: str | None,
        lease: timedelta,
    ) -> list[int]:
        """Insert rows (``bus``, ``subject``, ``msg_id``, ``key``, ``payload``, ``headers``)
        on the current connection; leased to ``leased_by`` for ``lease`` when given."""
        now = time.time()
        until = now + lease.total_seconds() if leased_by is not None else None
        prepared = [
            {**row, "created_at": now, "leased_by": leased_by, "lease_until": until} for row in rows
        ]
        if len(prepared) == 1:
            return [int(await self.db.insert(JobOutbox, prepared[0]))]
        return [int(k) for k in await self.db.insert_many(JobOutbox, prepared)]

    async def add(
        self, topic: str, payload: bytes | str, *, key: str | None = None, bus: str = "default"
    ) -> int:
        """Insert one unleased row (tests and tools; ``enqueue`` is the way for jobs)."""
        text = payload.decode() if isinstance(payload, bytes) else payload
        row = {"bus": bus, "subject": topic, "msg_id": new_msg_id(), "key": key, "payload": text}
        [row_id] = await self.insert([row], leased_by=None, lease=timedelta(0))
        return row_id

    # -- txoutbox's Storage ----------------------------------------------------------------

    async def claim(
        self, *, batch_size: int, lease: timedelta, worker_id: str
    ) -> Sequence[OutboxMessage]:
        if not await self.ready():
            return []
        until = time.time() + lease.total_seconds()
        won: dict[int, dict[str, Any]] = {}
        # Relays racing for the same first rows: the loser reads again past what the winner
        # leased (a few rounds at most), so concurrent relays share the table instead of
        # taking turns.
        for _round in range(CLAIM_ROUNDS):
            wanted = batch_size - len(won)
            lost = await self._claim_once(wanted, until, worker_id, won)
            if not lost or len(won) >= batch_size:
                break
        return [_message(won[i]) for i in sorted(won)]

    async def _claim_once(
        self, wanted: int, until: float, worker_id: str, won: dict[int, dict[str, Any]]
    ) -> bool:
        """Lease up to ``wanted`` more rows into ``won``; whether another worker took any of
        the rows this round chose."""
        db, now = self.db, time.time()
        window = await db.find(
            JobOutbox,
            JobOutbox.status == "pending",
            order_by=JobOutbox.id,
            limit=(len(won) + wanted) * 4 + 16,
        )
        # the rows this claim holds already block nothing
        chosen = _claimable([r for r in window if r["id"] not in won], now, wanted)
        if not chosen:
            return False
        by_attempts: dict[int, list[int]] = {}
        for row in chosen:
            by_attempts.setdefault(row["attempts"], []).append(row["id"])
        for attempts, ids in by_attempts.items():
            await db.update(
                JobOutbox,
                {"attempts": attempts + 1, "leased_by": worker_id, "lease_until": until,
                 "retry_at": None},
                JobOutbox.id.in_(ids),
                JobOutbox.status == "pending",
                JobOutbox.attempts == attempts,
                JobOutbox.lease_until.is_null() | (JobOutbox.lease_until <= now),
                JobOutbox.retry_at.is_null() | (JobOutbox.retry_at <= now),
            )  # fmt: skip
        taken = {
            row["id"]: row
            for row in await db.find(
                JobOutbox,
                JobOutbox.id.in_([row["id"] for row in chosen]),
                JobOutbox.leased_by == worker_id,
                JobOutbox.lease_until == until,
            )
        }
        kept, give_back = _keep_key_prefixes(chosen, taken)
        if give_back:
            await self._unclaim(give_back, worker_id)
        for row_id in kept:
            won[row_id] = taken[row_id]
        return len(taken) < len(chosen)

    async def ack(self, ids: Sequence[Any], *, worker_id: str) -> None:
        if ids:
            await self.db.delete(
                JobOutbox, JobOutbox.id.in_(list(ids)), JobOutbox.leased_by == worker_id
            )

    async def nack(
        self, message_id: Any, *, worker_id: str, error: str, retry_at: datetime
    ) -> None:
        await self.db.update(
            JobOutbox,
            {"retry_at": retry_at.timestamp(), "last_error": error[:MAX_ERROR_LEN],
             "leased_by": None, "lease_until": None},
            JobOutbox.id == message_id,
            JobOutbox.leased_by == worker_id,
        )  # fmt: skip

    async def release(self, ids: Sequence[Any], *, worker_id: str, retry_at: datetime) -> None:
        """Give rows back untried: the claim's attempt is not counted."""
        if ids:
            await self._unclaim(list(ids), worker_id, retry_at.timestamp())

    async def dead_letter(self, message_id: Any, *, worker_id: str, error: str) -> None:
        await self.db.update(
            JobOutbox,
            {"status": "dead", "last_error": error[:MAX_ERROR_LEN], "leased_by": None,
             "lease_until": None},
            JobOutbox.id == message_id,
            JobOutbox.leased_by == worker_id,
        )  # fmt: skip

    async def stats(self) -> OutboxStats:
        db = self.db
        pending = await db.count(JobOutbox, JobOutbox.status == "pending")
        dead = await db.count(JobOutbox, JobOutbox.status == "dead")
        oldest = await db.find(
            JobOutbox, JobOutbox.status == "pending", order_by=JobOutbox.id, limit=1
        )
        age = timedelta(seconds=max(0.0, time.time() - oldest[0]["created_at"])) if oldest else None
        return OutboxStats(pending=pending, oldest_pending_age=age, dead=dead)

    async def revive_dead(self) -> int:
        """Put the rows parked as dead back in line (attempts from zero); how many."""
        return await self.db.update(
            JobOutbox,
            {"status": "pending", "attempts": 0, "retry_at": None},
            JobOutbox.status == "dead",
        )

    async def hand_back(self, ids: Sequence[int], *, worker_id: str, error: str | None) -> None:
        """Unlease rows the after-commit publish could not send: the relay takes them at once."""
        if ids:
            values: dict[str, Any] = {"leased_by": None, "lease_until": None, "retry_at": None}
            if error is not None:
                values["last_error"] = error[:MAX_ERROR_LEN]
            await self.db.update(
                JobOutbox, values, JobOutbox.id.in_(list(ids)), JobOutbox.leased_by == worker_id
            )

    async def _unclaim(self, ids: list[Any], worker_id: str, retry_at: float | None = None) -> None:
        rows = await self.db.find(
            JobOutbox, JobOutbox.id.in_(ids), JobOutbox.leased_by == worker_id
        )
        for row in rows:
            await self.db.update(
                JobOutbox,
                {"attempts": max(0, row["attempts"] - 1), "leased_by": None,
                 "lease_until": None, "retry_at": retry_at},
                JobOutbox.id == row["id"],
                JobOutbox.leased_by == worker_id,
            )  # fmt: skip


def _claimable(window: list[dict[str, Any]], now: float, limit: int) -> list[dict[str, Any]]:
    """The rows to claim, in id order: due and unleased, and no earlier row of their key is
    pending but not claimable (leased elsewhere, or waiting for its retry)."""
    blocked: set[str] = set()
    chosen: list[dict[str, Any]] = []
    for row in window:
        key = row["key"]
        if key is not None and key in blocked:
            continue
        lease_until, retry_at = row["lease_until"], row["retry_at"]
        if (lease_until is not None and lease_until > now) or (
            retry_at is not None and retry_at > now
        ):
            if key is not None:
                blocked.add(key)
            continue
        chosen.append(row)
        if len(chosen) == limit:
            break
    return chosen


def _keep_key_prefixes(
    chosen: list[dict[str, Any]], won: Mapping[int, Any]
) -> tuple[list[int], list[int]]:
    """Of the rows this claim won, those to keep: per key, only the rows before the first one
    another worker took (the later ones would overtake it). Returns (kept, give back)."""
    lost: set[str] = set()
    kept: list[int] = []
    give_back: list[int] = []
    for row in chosen:
        row_id, key = row["id"], row["key"]
        if row_id not in won:
            if key is not None:
                lost.add(key)
        elif key is not None and key in lost:
            give_back.append(row_id)
        else:
            kept.append(row_id)
    return kept, give_back


def _message(row: Mapping[str, Any]) -> OutboxMessage:
    headers = json.loads(row["headers"]) if row["headers"] else {}
    headers[BUS_HEADER] = row["bus"]
    headers[MSG_ID_HEADER] = row["msg_id"]
    return OutboxMessage(
        id=row["id"],
        topic=row["subject"],
        payload=row["payload"].encode(),
        key=row["key"],
        headers=headers,
        attempts=row["attempts"],
        created_at=datetime.fromtimestamp(row["created_at"], tz=UTC),
    )


def new_msg_id() -> str:
    return MSG_ID_PREFIX + uuid.uuid4().hex


class _Pending(NamedTuple):
    ids: list[int]
    messages: list[tuple[str, str, bytes, str, dict[str, str] | None]]  # bus, subject, data, …


class Outbox:
    """The outbox of one database: writes in transactions, the after-commit publish, the relay.

    ``queue_of(bus_alias)`` gives the ``JobQueue`` a message is published through.
    """

    def __init__(
        self,
        db: Database,
        queue_of: Callable[[str], JobQueue],
        *,
        lease_ms: int,
        poll_max_ms: int,
        max_attempts: int,
        publish_timeout_ms: int,
    ) -> None:
        self.db = db
        self.storage = OutboxStorage(db)
        self._queue_of = queue_of
        self.lease = timedelta(milliseconds=lease_ms)
        self.publish_timeout_s = publish_timeout_ms / 1000
        #: leases the after-commit publish of this process holds on the rows it wrote
        self.writer_id = worker_id("writer")
        self.log = get_logger(component="jobs.outbox", db=db.alias)
        self.relay = Relay(
            self.storage,
            self.publish,
            config=RelayConfig(
                batch_size=RELAY_BATCH,
                concurrency=RELAY_CONCURRENCY,
                lease=self.lease,
                max_attempts=max_attempts,
                publish_timeout=self.publish_timeout_s,
                backoff=Backoff(maximum=timedelta(minutes=1)),
                poll_min=0.05,
                poll_max=poll_max_ms / 1000,
            ),
            hooks=_RelayLog(self.log),
            worker_id=worker_id("relay"),
        )
        self._relay_task: asyncio.Task[None] | None = None
        #: rows published after their commit, deleted in batches off the caller's path
        self._sent: list[int] = []
        self._deleter: asyncio.Task[None] | None = None

    # -- producing -------------------------------------------------------------------------

    async def add(
        self,
        bus: str,
        subject: str,
        items: Iterable[tuple[bytes, str | None]],
        headers: dict[str, str] | None,
        *,
        what: str,
    ) -> list[Outboxed]:
        """Write messages in the open transaction; publish them once it commits."""
        if not await self.storage.ready():
            raise MegaConfigError(
                "jobs.outbox_missing",
                f"{what} inside a transaction on db {self.db.alias!r} stores the job in table "
                f"{TABLE!r}, which does not exist there: run `mega migrate make add_job_outbox` "
                'and `mega migrate up` (or set [plugins.jobs] outbox_db = "" to publish at '
                "once, before the commit)",
                {"db": self.db.alias, "table": TABLE},
            )
        key = f"{bus}/{subject}"
        header_text = json.dumps(headers, separators=(",", ":")) if headers else None
        rows = []
        sends = []
        for data, msg_id in items:
            msg_id = msg_id or new_msg_id()
            text = data.decode()
            rows.append({"bus": bus, "subject": subject, "msg_id": msg_id, "key": key,
                         "payload": text, "headers": header_text})  # fmt: skip
            sends.append((bus, subject, data, msg_id, headers))
        ids = await self.storage.insert(rows, leased_by=self.writer_id, lease=self.lease)
        pending = _Pending(ids, sends)

        async def after_commit() -> None:
            await self._publish_committed(pending)

        self.db.on_commit(after_commit)
        return [Outboxed(i, s[3]) for i, s in zip(ids, sends, strict=True)]

    async def _publish_committed(self, pending: _Pending) -> None:
        """The rows this process wrote, right after their commit: publish in order, delete.
        What could not be sent goes back to the relay at once (no lease to wait out)."""
        sent: list[int] = []
        try:
            for row_id, (bus, subject, data, msg_id, headers) in zip(
                pending.ids, pending.messages, strict=True
            ):
                async with asyncio.timeout(self.publish_timeout_s):
                    await self.send(bus, subject, data, msg_id, headers)
                sent.append(row_id)
        except Exception as exc:
            rest = pending.ids[len(sent) :]
            self.log.warning(
                "jobs.outbox_deferred", rows=len(rest), error=f"{type(exc).__name__}: {exc}"
            )
            await self._quietly(
                self.storage.hand_back(rest, worker_id=self.writer_id, error=repr(exc))
            )
            self.relay.wake()
        finally:
            if sent:
                self._delete_later(sent)

    def _delete_later(self, ids: list[int]) -> None:
        """Delete published rows in the background, many per statement: the caller does not
        wait for it. A process that dies first leaves them leased; the relay publishes them
        again after the lease, with the same msg_id, which the bus does not store twice."""
        self._sent += ids
        if self._deleter is None or self._deleter.done():
            self._deleter = asyncio.create_task(self._delete_sent(), name="mega-outbox-delete")

    async def _delete_sent(self) -> None:
        while self._sent:
            await asyncio.sleep(DELETE_BATCH_DELAY_S)  # let more commits join this batch
            batch, self._sent = self._sent[:DELETE_BATCH], self._sent[DELETE_BATCH:]
            await self._quietly(self.storage.ack(batch, worker_id=self.writer_id))

    async def flush(self) -> None:
        """Delete what was published and not yet deleted (at shutdown)."""
        if self._deleter is not None:
            await self._deleter

    async def _quietly(self, call: Awaitable[None]) -> None:
        """Bookkeeping after a commit must not fail the caller: a row left leased is taken
        by the relay once its lease lapses."""
        try:
            await call
        except Exception as exc:
            self.log.warning("jobs.outbox_bookkeeping_failed", error=repr(exc))

    # -- publishing (both paths) -----------------------------------------------------------

    async def publish(self, message: OutboxMessage) -> None:
        """txoutbox's publisher: one claimed row to its bus."""
        headers = dict(message.headers)
        bus = headers.pop(BUS_HEADER)
        msg_id = headers.pop(MSG_ID_HEADER)
        await self.send(bus, message.topic, message.payload, msg_id, headers or None)

    async def send(
        self, bus: str, subject: str, data: bytes, msg_id: str, headers: dict[str, str] | None
    ) -> None:
        queue = self._queue_of(bus)
        await queue.ensure(subject)
        try:
            published = await queue.bus.publish(subject, data, msg_id, headers)
        except Exception as exc:
            if not queue.bus.is_missing_stream(exc):
                raise
            queue.forget(subject)  # the server lost the stream since it was checked
            await queue.ensure(subject)
            published = await queue.bus.publish(subject, data, msg_id, headers)
        if queue.events.listening["dispatch"]:
            queue.events.emit(
                "dispatch",
                subject=subject,
                seq=published.seq,
                stream=published.stream,
                duplicate=published.duplicate,
            )

    # -- the relay -------------------------------------------------------------------------

    def start_relay(self) -> None:
        if self._relay_task is None:
            self._relay_task = asyncio.create_task(self.relay.run(), name="mega-jobs-outbox-relay")

    async def stop_relay(self, timeout_s: float) -> None:
        """Let the round in flight finish (its publishes are acked), then stop; past
        ``timeout_s`` the round is cancelled — its rows stay and are published again later,
        with the same msg_id."""
        await self.flush()
        task, self._relay_task = self._relay_task, None
        if task is None:
            return
        self.relay.stop()
        try:
            await asyncio.wait_for(task, timeout_s)
        except TimeoutError:
            self.log.warning("jobs.outbox_relay_cut", timeout_s=timeout_s)


class _RelayLog(Hooks):
    """The relay's outcomes as mega log lines (txoutbox logs through stdlib logging too)."""

    def __init__(self, log: Any) -> None:
        self.log = log

    async def on_retry(
        self, message: OutboxMessage, error: BaseException, retry_at: datetime
    ) -> None:
        self.log.warning(
            "jobs.outbox_retry",
            outbox_id=message.id,
            subject=message.topic,
            attempt=message.attempts,
            retry_at=retry_at.isoformat(timespec="seconds"),
            error=f"{type(error).__name__}: {error}",
        )

    async def on_dead_letter(self, message: OutboxMessage, error: BaseException) -> None:
        self.log.error(
            "jobs.outbox_dead",
            outbox_id=message.id,
            subject=message.topic,
            attempts=message.attempts,
            error=f"{type(error).__name__}: {error}",
        )
