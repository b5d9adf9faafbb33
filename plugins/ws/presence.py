"""Presence across nodes without a central store.

The merge rule (docs/plugins/ws.md):

- Every entry is owned by the node that tracked it; only the owner changes it. An entry is
  ``(topic, key, ref) -> meta``; ``ref`` is unique per track or update, so a user on two tabs is
  one key with two metas, and an update is the old ref leaving and a new ref joining.
- The owner numbers the batches of changes it broadcasts: clock 1, 2, 3... A receiver applies
  batch ``n + 1`` after ``n``, ignores ``<= n`` (duplicates, late arrivals) and on a gap asks the
  owner for its whole state, which replaces what it knew when that state's clock is not older.
  Applying is idempotent, so a state that already holds a batch's changes is harmless.
- Each node heartbeats its clock every ``heartbeat_ms``; a heartbeat ahead of what a receiver
  holds triggers the same state request (a lost batch is repaired within one heartbeat).
- A node heard from for no ``down_after_ms`` is down: its entries leave everywhere. A node that
  stops cleanly sends its leaves and a ``bye`` first. A node's identity is per process start, so
  a restarted node is a new node; it says ``hello`` and every node answers with its state.

Clients get the full list on join (``presence_state``) and then diffs batched per topic per tick
(``presence_diff``: joins, then leaves, keyed by key with their metas). Topics above
``large_room`` presences coalesce diffs over ``large_room_tick_ms``; clients may ask for counts
only (``presence_count``), so fan-out stays one frame per client per tick.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import TYPE_CHECKING, Any

import orjson

from mega import MegaError

from . import envelope

if TYPE_CHECKING:
    from .connection import Connection
    from .hub import Hub

#: key -> ref -> meta
Keyed = dict[str, dict[str, dict[str, Any]]]
#: topic -> key -> ref -> meta
Entries = dict[str, Keyed]


class PresenceError(MegaError):
    """A presence call with bad arguments."""


class NodeState:
    """What this node knows of another node's presences."""

    __slots__ = ("clock", "entries", "seen", "sync_asked")

    def __init__(self) -> None:
        self.clock = 0
        self.entries: Entries = {}
        self.seen = time.monotonic()
        self.sync_asked = 0.0


def _put(entries: Entries, topic: str, key: str, ref: str, meta: dict[str, Any]) -> bool:
    refs = entries.setdefault(topic, {}).setdefault(key, {})
    if refs.get(ref) == meta:
        return False
    refs[ref] = meta
    return True


def _pop(entries: Entries, topic: str, key: str, ref: str) -> dict[str, Any] | None:
    keys = entries.get(topic)
    if keys is None or key not in keys:
        return None
    meta = keys[key].pop(ref, None)
    if not keys[key]:
        del keys[key]
        if not keys:
            del entries[topic]
    return meta


class Presence:
    """One node's presence tracker: ``track``, ``update``, ``untrack``, ``list``."""

    def __init__(self, hub: Hub) -> None:
        settings = hub.settings
        self.hub = hub
        self.node = hub.node_id
        self.tick_s = settings.presence_tick_ms / 1000
        self.heartbeat_s = settings.heartbeat_ms / 1000
        self.down_after_s = settings.down_after_ms / 1000
        self.large_room = settings.large_room
        self.large_tick_s = settings.large_room_tick_ms / 1000
        self.local: Entries = {}
        #: conn id -> (topic, key) -> the ref of its current meta
        self.by_conn: dict[str, dict[tuple[str, str], str]] = {}
        self.nodes: dict[str, NodeState] = {}
        self.clock = 0
        self._refs = 0
        self._out_joins: Entries = {}
        self._out_leaves: dict[str, dict[str, list[str]]] = {}
        #: topic -> (joins, leaves), each key -> ref -> meta, waiting for the next tick
        self._diffs: dict[str, tuple[Keyed, Keyed]] = {}
        self._large_sent: dict[str, float] = {}
        self._counts_sent: dict[str, int] = {}
        #: topic -> key -> how many sources (this node, each other node) hold it: ``count`` is
        #: the length of a topic's dict, not a union of every node's keys at each tick
        self._holders: dict[str, dict[str, int]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._beat: asyncio.Task[None] | None = None

    # -- the API channels use -------------------------------------------------------------

    def track(self, conn: Connection, topic: str, key: str, meta: dict[str, Any]) -> str:
        """Track ``conn`` on ``topic`` under ``key`` with ``meta``; returns the entry's ref.

        Tracking the same (conn, topic, key) again replaces its meta (like ``update``).
        """
        if not isinstance(key, str) or not key:
            raise PresenceError(
                "ws.presence_invalid",
                f"presence key must be a non-empty string (a user id, say), got {key!r}",
                {"key": repr(key)},
            )
        if not isinstance(meta, dict):
            raise PresenceError(
                "ws.presence_invalid",
                f"presence meta must be a dict of JSON values, got {type(meta).__name__}",
                {"key": key},
            )
        try:
            orjson.dumps(meta)
        except TypeError as exc:
            raise PresenceError(
                "ws.presence_invalid",
                f"presence meta for key {key!r} is not JSON-serialisable: {exc}",
                {"key": key},
            ) from None
        mine = self.by_conn.setdefault(conn.id, {})
        old = mine.get((topic, key))
        if old is not None:
            self._leave_local(topic, key, old)
        self._refs += 1
        ref = f"{self.node}.{self._refs}"
        mine[(topic, key)] = ref
        self._put_held(self.local, topic, key, ref, meta)
        _put(self._out_joins, topic, key, ref, meta)
        self._diff(topic)[0].setdefault(key, {})[ref] = meta
        self._schedule()
        return ref

    def update(self, conn: Connection, topic: str, key: str, meta: dict[str, Any]) -> str:
        """Replace the meta of a tracked (conn, topic, key); clients see a leave and a join."""
        if (topic, key) not in self.by_conn.get(conn.id, {}):
            raise PresenceError(
                "ws.presence_not_tracked",
                f"nothing tracked for key {key!r} on {topic!r} by this connection; track first",
                {"topic": topic, "key": key},
            )
        return self.track(conn, topic, key, meta)

    def untrack(self, conn: Connection, topic: str | None = None, key: str | None = None) -> int:
        """Stop tracking ``conn`` (on ``topic``, under ``key`` when given); returns how many."""
        mine = self.by_conn.get(conn.id)
        if not mine:
            return 0
        gone = [tk for tk in mine if (topic is None or tk[0] == topic) and key in (None, tk[1])]
        for tk in gone:
            self._leave_local(tk[0], tk[1], mine.pop(tk))
        if not mine:
            del self.by_conn[conn.id]
        if gone:
            self._schedule()
        return len(gone)

    def list(self, topic: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Every key on ``topic`` across the cluster, with all its metas (each with its ref)."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for entries in self._sources():
            for key, refs in entries.get(topic, {}).items():
                metas = out.setdefault(key, {"metas": []})["metas"]
                metas.extend({**meta, "ref": ref} for ref, meta in refs.items())
        return out

    def count(self, topic: str) -> int:
        """Distinct keys on ``topic`` across the cluster."""
        return len(self._holders.get(topic, ()))

    def _sources(self) -> builtins.list[Entries]:  # (`list` is the method above)
        return [self.local, *(state.entries for state in self.nodes.values())]

    # -- a source's entries change: keep the key holders in step ----------------------------

    def _hold(self, topic: str, key: str, delta: int) -> None:
        keys = self._holders.setdefault(topic, {})
        held = keys.get(key, 0) + delta
        if held > 0:
            keys[key] = held
            return
        keys.pop(key, None)
        if not keys:
            del self._holders[topic]

    def _put_held(
        self, entries: Entries, topic: str, key: str, ref: str, meta: dict[str, Any]
    ) -> bool:
        had = key in entries.get(topic, ())
        changed = _put(entries, topic, key, ref, meta)
        if not had:
            self._hold(topic, key, 1)
        return changed

    def _pop_held(self, entries: Entries, topic: str, key: str, ref: str) -> dict[str, Any] | None:
        had = key in entries.get(topic, ())
        meta = _pop(entries, topic, key, ref)
        if had and key not in entries.get(topic, ()):
            self._hold(topic, key, -1)
        return meta

    def _leave_local(self, topic: str, key: str, ref: str) -> None:
        meta = self._pop_held(self.local, topic, key, ref)
        if meta is None:
            return
        if _pop(self._out_joins, topic, key, ref) is None:
            self._out_leaves.setdefault(topic, {}).setdefault(key, []).append(ref)
        self._diff(topic)[1].setdefault(key, {})[ref] = meta

    def _diff(self, topic: str) -> tuple[Keyed, Keyed]:
        diff = self._diffs.get(topic)
        if diff is None:
            diff = self._diffs[topic] = ({}, {})
        return diff

    # -- ticks: one delta to the cluster, one diff frame per topic to clients ---------------

    def _schedule(self, delay: float | None = None) -> None:
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(
                self.tick_s if delay is None else delay, self.flush
            )

    def flush(self) -> None:
        """Send the pending delta to the cluster and the pending diffs to local clients."""
        self._flush_handle = None
        if self._out_joins or self._out_leaves:
            self.clock += 1
            message = {
                "t": "d",
                "n": self.node,
                "c": self.clock,
                "j": self._out_joins,
                "l": self._out_leaves,
            }
            self._out_joins, self._out_leaves = {}, {}
            self._publish(message)
        now = time.monotonic()
        later: float | None = None
        for topic in list(self._diffs):
            if self.count(topic) > self.large_room:
                due = self._large_sent.get(topic, 0.0) + self.large_tick_s
                if now < due:
                    later = min(later or due - now, due - now)
                    continue
                self._large_sent[topic] = now
            joins, leaves = self._diffs.pop(topic)
            self._send_diff(topic, joins, leaves)
        if later is not None:
            self._schedule(later)

    def _send_diff(self, topic: str, joins: Keyed, leaves: Keyed) -> None:
        subscribers = self.hub.subscribers.get(topic)
        if not subscribers:
            self._counts_sent.pop(topic, None)
            self._large_sent.pop(topic, None)
            return
        diff_frame = count_frame = None
        for conn, joined in subscribers.items():
            if joined.presence == "full":
                if diff_frame is None:
                    diff_frame = envelope.presence_diff(topic, _as_metas(joins), _as_metas(leaves))
                conn.send_frame(diff_frame)
            elif joined.presence == "counts":
                if count_frame is None:
                    count = self.count(topic)
                    if self._counts_sent.get(topic) == count:
                        count_frame = ""
                    else:
                        self._counts_sent[topic] = count
                        count_frame = envelope.presence_count(topic, count)
                if count_frame:
                    conn.send_frame(count_frame)

    def state_frame(self, topic: str, mode: str) -> str | None:
        """What a client joining ``topic`` gets first: the full list, the count, or nothing."""
        if mode == "full":
            return envelope.presence_state(topic, self.list(topic))
        if mode == "counts":
            return envelope.presence_count(topic, self.count(topic))
        return None

    # -- the cluster ------------------------------------------------------------------------

    def _publish(self, message: dict[str, Any], to: str | None = None) -> None:
        self.hub.send_to_cluster(orjson.dumps(message), to=to)

    def _state_message(self) -> dict[str, Any]:
        if self._out_joins or self._out_leaves:
            self.flush()  # the state carries a clock: give pending changes theirs first
        return {"t": "s", "n": self.node, "c": self.clock, "e": self.local}

    def receive(self, message: dict[str, Any]) -> None:
        """A message from another node (``hello``, state, delta, heartbeat, ``bye``)."""
        node = message.get("n")
        kind = message.get("t")
        if not isinstance(node, str) or node == self.node:
            return
        if kind == "bye":
            self._drop(node, "bye")
            return
        state = self.nodes.get(node)
        if state is None:
            state = self.nodes[node] = NodeState()
            self.hub.node_up(node)
        state.seen = time.monotonic()
        if kind == "d":
            clock = message["c"]
            if clock == state.clock + 1:
                self._apply(state, message.get("j") or {}, message.get("l") or {})
                state.clock = clock
            elif clock > state.clock + 1:
                self._ask_sync(node, state)
        elif kind == "s":
            if message["c"] >= state.clock:
                self._replace(state, message.get("e") or {})
                state.clock = message["c"]
        elif kind == "hb":
            if message["c"] > state.clock:
                self._ask_sync(node, state)
        elif kind in ("hello", "sync"):
            self._publish(self._state_message(), to=node)

    def _ask_sync(self, node: str, state: NodeState) -> None:
        now = time.monotonic()
        if now - state.sync_asked < self.heartbeat_s:
            return  # asked already; the answer or the next heartbeat will tell
        state.sync_asked = now
        self._publish({"t": "sync", "n": self.node}, to=node)

    def _apply(
        self, state: NodeState, joins: Entries, leaves: dict[str, dict[str, builtins.list[str]]]
    ) -> None:
        for topic, keys in joins.items():
            for key, refs in keys.items():
                for ref, meta in refs.items():
                    if self._put_held(state.entries, topic, key, ref, meta):
                        self._diff(topic)[0].setdefault(key, {})[ref] = meta
        for topic, left in leaves.items():
            for key, left_refs in left.items():
                for ref in left_refs:
                    gone = self._pop_held(state.entries, topic, key, ref)
                    if gone is not None:
                        self._diff(topic)[1].setdefault(key, {})[ref] = gone
        self._schedule()

    def _replace(self, state: NodeState, entries: Entries) -> None:
        old = state.entries
        for topic, keys in old.items():
            for key, refs in keys.items():
                for ref, meta in refs.items():
                    if ref not in entries.get(topic, {}).get(key, {}):
                        self._diff(topic)[1].setdefault(key, {})[ref] = meta
        for topic, keys in entries.items():
            for key, refs in keys.items():
                for ref, meta in refs.items():
                    if old.get(topic, {}).get(key, {}).get(ref) != meta:
                        self._diff(topic)[0].setdefault(key, {})[ref] = meta
        for topic in old.keys() | entries.keys():
            before, after = old.get(topic, {}), entries.get(topic, {})
            for key in before.keys() - after.keys():
                self._hold(topic, key, -1)
            for key in after.keys() - before.keys():
                self._hold(topic, key, 1)
        state.entries = entries
        self._schedule()

    def _drop(self, node: str, reason: str) -> None:
        state = self.nodes.pop(node, None)
        if state is None:
            return
        keys = sum(len(k) for k in state.entries.values())
        self._replace(state, {})
        self.hub.node_down(node, reason, keys)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._publish({"t": "hello", "n": self.node})
        self._beat = asyncio.ensure_future(self._heartbeat())

    async def _heartbeat(self) -> None:
        # down nodes are checked 4x per heartbeat, so one is declared down at most a quarter
        # heartbeat past down_after_ms
        step = self.heartbeat_s / 4
        beats = 0
        while True:
            if beats % 4 == 0:
                self._publish({"t": "hb", "n": self.node, "c": self.clock})
            beats += 1
            now = time.monotonic()
            for node, state in list(self.nodes.items()):
                if now - state.seen > self.down_after_s:
                    self._drop(node, "down")
            await asyncio.sleep(step)

    async def stop(self) -> None:
        """Send this node's leaves and a ``bye``; stop heartbeating."""
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        for conn_id in list(self.by_conn):
            for (topic, key), ref in self.by_conn.pop(conn_id).items():
                self._leave_local(topic, key, ref)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.flush()
        self._publish({"t": "bye", "n": self.node})


def _as_metas(entries: Keyed) -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {
        key: {"metas": [{**meta, "ref": ref} for ref, meta in refs.items()]}
        for key, refs in entries.items()
    }
