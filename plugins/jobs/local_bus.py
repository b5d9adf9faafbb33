"""The ``local`` bus driver: a durable job store in one SQLite file, no server.

It keeps JetStream's semantics so code moves between drivers unchanged: per subject a work
"stream" (a message is deleted when acked) and a DLQ stream, a durable consumer with an ack-wait
lease, ``max_deliver``, a group-wide ``max_ack_pending`` (delayed naks keep their slot), message
deduplication by ``msg_id`` within a window. Several processes on one host may share the file:
every claim is one ``BEGIN IMMEDIATE`` transaction. Processes consuming one subject share its
``max_ack_pending`` fairly: each claims at most its share of it (the limit divided by the
consumers seen polling lately), so the process that frees a slot cannot take every slot again
before the idle ones poll — JetStream gets the same by serving waiting pull requests in order.

Each queue operation is several statements in one transaction, so the driver runs them on one
dedicated thread with the standard ``sqlite3`` module — one thread hop per operation (aiosqlite
would make one per statement). Acks and lease renewals are batched into one transaction per
event-loop turn. ``synchronous = "normal"`` (WAL) survives a process crash; use ``"full"`` to
also survive a power cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy wait only
    fcntl = None  # type: ignore[assignment]

from mega import MegaLifecycleError, get_logger

from .errors import DeadLetterNotFound, JobError
from .transport import ConsumerConfig, DeadLetter, Published, StreamLimits, SubjectStats

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS mega_job_streams (
    name TEXT PRIMARY KEY, subject TEXT NOT NULL UNIQUE, max_age_ms INTEGER NOT NULL,
    max_bytes INTEGER, duplicate_window_ms INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS mega_job_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, data BLOB NOT NULL,
    stored_at REAL NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL DEFAULT 0, leased INTEGER NOT NULL DEFAULT 0, headers TEXT);
CREATE INDEX IF NOT EXISTS mega_job_messages_ready ON mega_job_messages (stream, visible_at);
CREATE TABLE IF NOT EXISTS mega_job_dedup (
    stream TEXT NOT NULL, msg_id TEXT NOT NULL, seq INTEGER NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (stream, msg_id));
CREATE TABLE IF NOT EXISTS mega_job_consumers (
    stream TEXT PRIMARY KEY, max_ack_pending INTEGER NOT NULL, ack_wait_ms INTEGER NOT NULL,
    max_deliver INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mega_job_claimers (
    stream TEXT NOT NULL, claimer TEXT NOT NULL, seen REAL NOT NULL,
    PRIMARY KEY (stream, claimer));
"""

#: a consumer that polled within this many poll intervals counts toward the fair share
ACTIVE_POLLS = 5
#: the host's cores: the finest split of a job's concurrency between processes
CORES = os.cpu_count() or 1
#: how soon a consumer held back by the group's limit (or its share of it) tries again
HELD_BACK_RETRY_S = 0.01

STREAM_PREFIX = "MEGA_JOBS"


class WriterLock:
    """The processes sharing a store take turns to write through an OS file lock
    (``<store>.lock``, ``flock``) taken before ``BEGIN IMMEDIATE``.

    SQLite's own wait for a busy database sleeps in growing steps (1, 2, 5, 10 ... 100 ms)
    however soon the lock is free, and a waiter that sleeps loses the lock to the process that
    just released it: with four worker processes claiming at once, most of their time went to
    those sleeps. A waiter here tries again every 0.1-2 ms (measured as fast as a blocking
    ``flock``, bench/curves_jobs.py) and, like SQLite, gives up after ``busy_timeout_ms``
    (``database is locked``) rather than wait for ever on a stopped holder. The kernel releases
    the lock of a process that dies. Where ``fcntl`` is missing (Windows) SQLite's wait is all
    there is.
    """

    def __init__(self, path: str | None, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.fd: int | None = None
        if fcntl is not None and path is not None:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self) -> None:
        if self.fd is None or fcntl is None:
            return
        delay = 0.0001
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.002)

    def release(self) -> None:
        if self.fd is not None and fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LocalBusOptions(BaseModel):
    """``[adapters.bus.<alias>] driver = "local"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the store file; relative to the working directory (the project root under `mega`)
    path: str = ".mega/jobs.sqlite3"
    #: how often an idle consumer looks for messages published by other processes (in-process
    #: publishes wake it at once)
    poll_ms: int = Field(default=100, ge=1)
    #: how long an operation waits for another process's write lock
    busy_timeout_ms: int = Field(default=5_000, ge=0)
    synchronous: str = Field(default="normal", pattern=r"^(normal|full|extra)$")


class NoStreamError(JobError):
    """Publishing to a subject whose stream does not exist (JetStream: no responders)."""

    http_status = 503


def _token(subject: str) -> str:
    return subject.upper().replace(".", "_").replace("-", "_")


class LocalDelivery:
    __slots__ = ("_headers", "bus", "data", "delivery_count", "seq", "stored_at")

    def __init__(
        self,
        bus: LocalBus,
        seq: int,
        data: bytes,
        delivery_count: int,
        stored_at: float,
        headers: str | None,
    ) -> None:
        self.bus = bus
        self.seq = seq
        self.data = data
        self.delivery_count = delivery_count
        self.stored_at = stored_at
        self._headers = headers

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            return {}
        headers: dict[str, str] = json.loads(self._headers)
        return headers

    async def ack(self) -> None:
        self.bus._later("ack", self.seq)

    async def nak(self, delay_s: float | None = None) -> None:
        await self.bus._call(self.bus._nak_sync, self.seq, delay_s or 0.0)
        self.bus._wake_all()

    async def in_progress(self) -> None:
        self.bus._later("touch", self.seq)


class LocalConsumer:
    def __init__(self, bus: LocalBus, config: ConsumerConfig) -> None:
        self.bus = bus
        self.config = config
        self.stream = bus.stream_name(config.subject)
        self._interrupted = False
        #: this process's name among the stream's claimers
        self.claimer = uuid.uuid4().hex

    def interrupt(self) -> None:
        """End a waiting fetch now (with nothing: it claims nothing after this)."""
        self._interrupted = True
        self.bus._signal(self.stream).set()

    async def fetch(self, batch: int, timeout_s: float) -> list[Any]:
        bus = self.bus
        deadline = time.monotonic() + timeout_s
        signal = bus._signal(self.stream)
        while not self._interrupted:
            signal.clear()
            held = max(0, self.config.concurrency - batch)  # what this consumer has in flight
            rows = await bus._call(bus._claim_sync, self.stream, batch, self.claimer, held)
            if rows:
                return [LocalDelivery(bus, *row) for row in rows]
            left = deadline - time.monotonic()
            if left <= 0 or self._interrupted:
                return []
            # held back, try again soon: a slot is freed by one of our runs ending (its ack, once
            # written, wakes us) or by another process's ack, which cannot wake us
            wait_s = bus.options.poll_ms / 1000 if rows is not None else HELD_BACK_RETRY_S
            try:
                async with asyncio.timeout(min(left, wait_s)):
                    await signal.wait()
            except TimeoutError:
                pass
            if rows is None:
                # back to the caller: its free slots (and so what this consumer holds) change
                # as its runs end
                return []
        return []

    async def reset(self) -> None:
        await self.bus._call(self.bus._upsert_consumer_sync, self.stream, self.config)

    async def close(self) -> None:
        await self.bus._flush()
        # a stopped consumer no longer takes a share: the others may claim the whole limit now.
        # Best effort: a row left behind stops counting after ACTIVE_POLLS poll intervals
        with contextlib.suppress(Exception):
            await self.bus._call(self.bus._forget_claimer_sync, self.stream, self.claimer)


class LocalBus:
    """The embedded job store (``JobBus``)."""

    def __init__(self, *, alias: str, options: LocalBusOptions) -> None:
        self.alias = alias
        self.options = options
        self._db: sqlite3.Connection | None = None
        self._writers = WriterLock(None)  # the store's, once open
        self._executor: ThreadPoolExecutor | None = None
        self._signals: dict[str, asyncio.Event] = {}
        self._pending: dict[str, list[int]] = {"ack": [], "touch": []}
        self._flush_task: asyncio.Task[None] | None = None
        self._dedup_swept = 0.0
        self.log = get_logger(component="bus", driver="local", alias=alias)

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"mega-bus-{self.alias}")
        try:
            await self._call(self._open_sync)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            raise MegaLifecycleError(
                "bus.connect_failed",
                f"[adapters.bus.{self.alias}] cannot open the job store {self.options.path}: {exc}",
                {"alias": self.alias, "path": self.options.path},
            ) from exc

    def _open_sync(self) -> None:
        path = Path(self.options.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            path,
            timeout=self.options.busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.options.synchronous.upper()}")
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(mega_job_messages)")}
        if "headers" not in columns:  # a store made before messages carried headers
            db.execute("ALTER TABLE mega_job_messages ADD COLUMN headers TEXT")
        self._db = db
        self._writers = WriterLock(f"{path}.lock", self.options.busy_timeout_ms / 1000)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self._flush()
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
            self._writers.close()
        self._executor.shutdown(wait=True)
        self._executor = None

    async def health(self) -> dict[str, Any]:
        await self._call(lambda: self._conn.execute("SELECT 1").fetchone())
        return {"path": self.options.path}

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise MegaLifecycleError(
                "bus.not_connected", f"bus {self.alias!r} is not connected (or already closed)"
            )
        return self._db

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise MegaLifecycleError(
                "bus.not_connected", f"bus {self.alias!r} is not connected (or already closed)"
            )
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _write(self, work: Callable[..., T], *args: Any) -> T:
        db = self._conn
        self._writers.acquire()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db, *args)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result
        finally:
            self._writers.release()

    def _signal(self, stream: str) -> asyncio.Event:
        signal = self._signals.get(stream)
        if signal is None:
            signal = self._signals[stream] = asyncio.Event()
        return signal

    def _wake_all(self) -> None:
        for signal in self._signals.values():
            signal.set()

    # -- batched acks and lease renewals ---------------------------------------------------

    def _later(self, kind: str, seq: int) -> None:
        self._pending[kind].append(seq)
        if self._flush_task is None:
            self._flush_task = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0)
        self._flush_task = None
        await self._apply_pending()

    async def _flush(self) -> None:
        if self._flush_task is not None:
            await asyncio.shield(self._flush_task)
        await self._apply_pending()

    async def _apply_pending(self) -> None:
        acks, touches = self._pending["ack"], self._pending["touch"]
        if not acks and not touches:
            return
        self._pending = {"ack": [], "touch": []}
        try:
            await self._call(self._write, self._apply_sync, acks, touches)
        except Exception as exc:
            # keep them for the next flush; if the process dies first, the leases lapse and the
            # messages are redelivered (at least once), never lost
            self._pending["ack"] += acks
            self._pending["touch"] += touches
            self.log.warning("bus.flush_failed", acks=len(acks), error=repr(exc))
            return
        if acks:
            self._wake_all()  # freed slots

    @staticmethod
    def _apply_sync(db: sqlite3.Connection, acks: list[int], touches: list[int]) -> None:
        if acks:
            db.executemany("DELETE FROM mega_job_messages WHERE seq = ?", [(s,) for s in acks])
        if touches:
            now = time.time()
            db.executemany(
                "UPDATE mega_job_messages SET visible_at = ? + (SELECT ack_wait_ms / 1000.0 "
                "FROM mega_job_consumers c WHERE c.stream = mega_job_messages.stream) "
                "WHERE seq = ? AND leased = 1",
                [(now, s) for s in touches],
            )

    # -- streams and publishing -----------------------------------------------------------

    def stream_name(self, subject: str) -> str:
        return f"{STREAM_PREFIX}_{_token(subject)}"

    def dlq_stream_name(self, subject: str) -> str:
        return f"{self.stream_name(subject)}_DLQ"

    async def ensure_streams(self, subject: str, limits: StreamLimits) -> None:
        await self._call(self._write, self._ensure_sync, subject, limits)

    def _ensure_sync(self, db: sqlite3.Connection, subject: str, limits: StreamLimits) -> None:
        now = time.time()
        sql = (
            "INSERT INTO mega_job_streams (name, subject, max_age_ms, max_bytes, "
            "duplicate_window_ms, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING"
        )
        window = limits.duplicate_window_ms
        db.execute(sql, (self.stream_name(subject), subject, 0, None, window, now))
        db.execute(
            sql,
            (
                self.dlq_stream_name(subject),
                f"{subject}.dlq",
                limits.dlq_max_age_ms,
                limits.dlq_max_bytes,
                window,
                now,
            ),
        )

    async def publish(
        self,
        subject: str,
        data: bytes,
        msg_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Published:
        stream = self.stream_name(subject)
        encoded = None if not headers else json.dumps(headers)
        seq, duplicate = await self._call(
            self._write, self._publish_sync, stream, data, msg_id, encoded
        )
        signal = self._signals.get(stream)
        if signal is not None:
            signal.set()
        return Published(seq, stream, duplicate)

    def is_missing_stream(self, error: BaseException) -> bool:
        return isinstance(error, NoStreamError)

    async def publish_many(
        self, subject: str, items: list[bytes], headers: dict[str, str] | None = None
    ) -> list[Published]:
        stream = self.stream_name(subject)
        encoded = None if not headers else json.dumps(headers)
        seqs = await self._call(self._write, self._publish_many_sync, stream, items, encoded)
        self._signal(stream).set()
        return [Published(seq, stream, False) for seq in seqs]

    def _publish_sync(
        self,
        db: sqlite3.Connection,
        stream: str,
        data: bytes,
        msg_id: str | None,
        headers: str | None = None,
    ) -> tuple[int, bool]:
        now = time.time()
        row = db.execute(
            "SELECT duplicate_window_ms FROM mega_job_streams WHERE name = ?", (stream,)
        ).fetchone()
        if row is None:
            raise NoStreamError(
                "bus.no_stream", f"no stream {stream} in the job store", {"stream": stream}
            )
        if msg_id is not None:
            if now - self._dedup_swept > 1.0:
                db.execute("DELETE FROM mega_job_dedup WHERE expires_at < ?", (now,))
                self._dedup_swept = now
            seen = db.execute(
                "SELECT seq FROM mega_job_dedup WHERE stream = ? AND msg_id = ? AND "
                "expires_at >= ?",
                (stream, msg_id, now),
            ).fetchone()
            if seen is not None:
                return int(seen[0]), True
        seq = db.execute(
            "INSERT INTO mega_job_messages (stream, data, stored_at, headers) VALUES (?, ?, ?, ?)",
            (stream, data, now, headers),
        ).lastrowid
        assert seq is not None
        if msg_id is not None:
            db.execute(
                "INSERT OR REPLACE INTO mega_job_dedup VALUES (?, ?, ?, ?)",
                (stream, msg_id, seq, now + row[0] / 1000),
            )
        return seq, False

    def _publish_many_sync(
        self, db: sqlite3.Connection, stream: str, items: list[bytes], headers: str | None
    ) -> list[int]:
        seqs = []
        for data in items:
            seq, _ = self._publish_sync(db, stream, data, None, headers)
            seqs.append(seq)
        return seqs

    async def publish_dead_letter(self, subject: str, data: bytes) -> None:
        await self._call(self._write, self._dead_letter_sync, self.dlq_stream_name(subject), data)

    def _dead_letter_sync(self, db: sqlite3.Connection, stream: str, data: bytes) -> None:
        self._publish_sync(db, stream, data, None)
        max_age_ms, max_bytes = db.execute(
            "SELECT max_age_ms, max_bytes FROM mega_job_streams WHERE name = ?", (stream,)
        ).fetchone()
        if max_age_ms:
            db.execute(
                "DELETE FROM mega_job_messages WHERE stream = ? AND stored_at < ?",
                (stream, time.time() - max_age_ms / 1000),
            )
        if max_bytes:
            total = 0
            rows = db.execute(
                "SELECT seq, length(data) FROM mega_job_messages WHERE stream = ? "
                "ORDER BY seq DESC",
                (stream,),
            ).fetchall()
            for seq, size in rows:
                total += size
                if total > max_bytes:
                    db.execute(
                        "DELETE FROM mega_job_messages WHERE stream = ? AND seq <= ?",
                        (stream, seq),
                    )
                    break

    # -- consuming ------------------------------------------------------------------------

    async def consumer(self, config: ConsumerConfig) -> LocalConsumer:
        consumer = LocalConsumer(self, config)
        await consumer.reset()
        return consumer

    def _upsert_consumer_sync(self, stream: str, config: ConsumerConfig) -> None:
        stale = time.time() - ACTIVE_POLLS * self.options.poll_ms / 1000

        def upsert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO mega_job_consumers VALUES (?, ?, ?, ?) ON CONFLICT (stream) DO "
                "UPDATE SET max_ack_pending = excluded.max_ack_pending, "
                "ack_wait_ms = excluded.ack_wait_ms, max_deliver = excluded.max_deliver",
                (stream, config.concurrency, config.ack_wait_ms, config.max_deliver),
            )
            # claimers killed before they could forget themselves: once per consumer start
            db.execute(
                "DELETE FROM mega_job_claimers WHERE stream = ? AND seen <= ?", (stream, stale)
            )

        self._write(upsert)

    def _forget_claimer_sync(self, stream: str, claimer: str) -> None:
        self._write(
            lambda db: db.execute(
                "DELETE FROM mega_job_claimers WHERE stream = ? AND claimer = ?",
                (stream, claimer),
            )
        )

    def _claim_sync(
        self, stream: str, batch: int, claimer: str, held: int
    ) -> list[tuple[int, bytes, int, float, str | None]] | None:
        """Claim up to ``batch`` messages; None when held back by the group's limit or this
        consumer's fair share of it ([] when there is nothing to claim)."""
        active_s = ACTIVE_POLLS * self.options.poll_ms / 1000
        return self._write(self._claim_in, stream, batch, claimer, held, active_s)

    @staticmethod
    def _claim_in(
        db: sqlite3.Connection,
        stream: str,
        batch: int,
        claimer: str,
        held: int,
        active_s: float,
    ) -> list[tuple[int, bytes, int, float, str | None]] | None:
        now = time.time()
        db.execute(
            "INSERT INTO mega_job_claimers VALUES (?, ?, ?) ON CONFLICT (stream, claimer) "
            "DO UPDATE SET seen = excluded.seen",
            (stream, claimer, now),
        )
        (claimers,) = db.execute(
            "SELECT count(*) FROM mega_job_claimers WHERE stream = ? AND seen > ?",
            (stream, now - active_s),
        ).fetchone()
        max_ack_pending, ack_wait_ms, max_deliver = db.execute(
            "SELECT max_ack_pending, ack_wait_ms, max_deliver FROM mega_job_consumers "
            "WHERE stream = ?",
            (stream,),
        ).fetchone()
        (in_flight,) = db.execute(
            "SELECT count(*) FROM mega_job_messages WHERE stream = ? AND visible_at > ? "
            "AND leased = 1",
            (stream, now),
        ).fetchone()
        # ceil: the shares add up to the limit. Split no finer than the host has cores: more
        # processes than cores can run no more at once, and each share they split off costs
        # claims (several small ones instead of one) that queue for the one writer
        share = -(-max_ack_pending // max(1, min(claimers, CORES)))
        if held >= share:
            return None
        free = min(batch, max_ack_pending - in_flight, share - held)
        if free <= 0:
            return None  # the group's limit is reached: slots free up in other processes
        rows = db.execute(
            "SELECT seq, data, deliveries + 1, stored_at, headers FROM mega_job_messages "
            "WHERE stream = ? AND visible_at <= ? AND deliveries < ? ORDER BY seq LIMIT ?",
            (stream, now, max_deliver, free),
        ).fetchall()
        if rows:
            db.executemany(
                "UPDATE mega_job_messages SET deliveries = deliveries + 1, visible_at = ?, "
                "leased = 1 WHERE seq = ?",
                [(now + ack_wait_ms / 1000, row[0]) for row in rows],
            )
        return rows

    def _nak_sync(self, seq: int, delay_s: float) -> None:
        # a delayed nak keeps the message's in-flight slot until it is due (as JetStream does)
        self._write(
            lambda db: db.execute(
                "UPDATE mega_job_messages SET visible_at = ?, leased = ? WHERE seq = ?",
                (time.time() + delay_s, 1 if delay_s > 0 else 0, seq),
            )
        )

    # -- operating ------------------------------------------------------------------------

    async def stats(self, subject: str) -> SubjectStats:
        return await self._call(self._stats_sync, subject)

    def _stats_sync(self, subject: str) -> SubjectStats:
        db = self._conn
        stream = self.stream_name(subject)
        now = time.time()
        depth, pending, in_flight, redelivered = db.execute(
            "SELECT count(*), "
            "coalesce(sum(deliveries = 0), 0), "
            "coalesce(sum(leased = 1 AND visible_at > ?), 0), "
            "coalesce(sum(leased = 1 AND visible_at > ? AND deliveries > 1), 0) "
            "FROM mega_job_messages WHERE stream = ?",
            (now, now, stream),
        ).fetchone()
        (dlq_depth,) = db.execute(
            "SELECT count(*) FROM mega_job_messages WHERE stream = ?",
            (self.dlq_stream_name(subject),),
        ).fetchone()
        return SubjectStats(subject, depth, pending, in_flight, redelivered, dlq_depth)

    async def dead_letters(self, subject: str, limit: int = 100) -> list[DeadLetter]:
        rows = await self._call(
            lambda: self._conn.execute(
                "SELECT seq, data FROM mega_job_messages WHERE stream = ? ORDER BY seq LIMIT ?",
                (self.dlq_stream_name(subject), limit),
            ).fetchall()
        )
        return [DeadLetter(seq, json.loads(data)) for seq, data in rows]

    async def dead_letter(self, subject: str, seq: int) -> DeadLetter:
        row = await self._call(
            lambda: self._conn.execute(
                "SELECT data FROM mega_job_messages WHERE stream = ? AND seq = ?",
                (self.dlq_stream_name(subject), seq),
            ).fetchone()
        )
        if row is None:
            raise DeadLetterNotFound(
                "job.dead_letter_not_found",
                f"no dead letter {seq} in the DLQ of {subject!r}",
                {"subject": subject, "seq": seq},
            )
        return DeadLetter(seq, json.loads(row[0]))

    async def delete_dead_letter(self, subject: str, seq: int) -> None:
        stream = self.dlq_stream_name(subject)
        await self._call(
            self._write,
            lambda db: db.execute(
                "DELETE FROM mega_job_messages WHERE stream = ? AND seq = ?", (stream, seq)
            ),
        )

    async def purge_dead_letters(self, subject: str) -> int:
        stream = self.dlq_stream_name(subject)
        cursor = await self._call(
            self._write,
            lambda db: db.execute("DELETE FROM mega_job_messages WHERE stream = ?", (stream,)),
        )
        return int(cursor.rowcount)

    async def subjects(self) -> list[str]:
        rows = await self._call(
            lambda: self._conn.execute(
                "SELECT subject FROM mega_job_streams WHERE name NOT LIKE '%\\_DLQ' ESCAPE '\\' "
                "ORDER BY subject"
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def delete_streams(self, subject: str) -> None:
        """Delete the work and DLQ streams of ``subject`` with their messages."""
        names = (self.stream_name(subject), self.dlq_stream_name(subject))

        def drop(db: sqlite3.Connection) -> None:
            for name in names:
                db.execute("DELETE FROM mega_job_messages WHERE stream = ?", (name,))
                db.execute("DELETE FROM mega_job_streams WHERE name = ?", (name,))
                db.execute("DELETE FROM mega_job_consumers WHERE stream = ?", (name,))

        await self._call(self._write, drop)
