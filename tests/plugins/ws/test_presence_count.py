"""``Presence.count`` is kept as a running tally (O(1) a call); it must always equal the number
of distinct keys on the topic across this node and every node it knows of."""

from __future__ import annotations

import random
from typing import Any

from mega.plugins.ws.presence import Presence
from mega.plugins.ws.settings import WsSettings

TOPICS = ("room:a", "room:b")
KEYS = [f"user{i}" for i in range(6)]
NODES = ("n1", "n2")


class Conn:
    def __init__(self, conn_id: str) -> None:
        self.id = conn_id

    def send_frame(self, frame: str) -> None:
        pass


class Hub:
    """What Presence uses of the ws hub; cluster messages go nowhere."""

    def __init__(self) -> None:
        self.settings = WsSettings()
        self.node_id = "here"
        self.subscribers: dict[str, dict[Any, Any]] = {}

    def send_to_cluster(self, data: bytes, *, to: str | None = None) -> None:
        pass

    def node_up(self, node: str) -> None:
        pass

    def node_down(self, node: str, reason: str, keys: int) -> None:
        pass


def union_count(presence: Presence, topic: str) -> int:
    sources = [presence.local, *(state.entries for state in presence.nodes.values())]
    return len(set().union(*(source.get(topic, {}) for source in sources)))


class Remote:
    """Another node's side: its entries and its delta clock, sent as deltas and states."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.clock = 0
        self.refs = 0

    def delta(self, rng: random.Random) -> dict[str, Any]:
        topic, key = rng.choice(TOPICS), rng.choice(KEYS)
        refs = self.entries.setdefault(topic, {}).setdefault(key, {})
        joins: dict[str, Any] = {}
        leaves: dict[str, Any] = {}
        if refs and rng.random() < 0.5:
            ref = rng.choice(sorted(refs))
            del refs[ref]
            leaves = {topic: {key: [ref]}}
        else:
            self.refs += 1
            ref = f"{self.name}.{self.refs}"
            refs[ref] = {"tab": self.refs}
            joins = {topic: {key: {ref: refs[ref]}}}
        if not refs:
            del self.entries[topic][key]
        self.clock += 1
        return {"t": "d", "n": self.name, "c": self.clock, "j": joins, "l": leaves}

    def state(self) -> dict[str, Any]:
        entries = {t: {k: dict(r) for k, r in keys.items()} for t, keys in self.entries.items()}
        return {"t": "s", "n": self.name, "c": self.clock, "e": entries}


async def test_count_equals_the_distinct_keys_of_every_source_after_any_sequence():
    for seed in range(20):
        rng = random.Random(seed)
        presence = Presence(Hub())  # type: ignore[arg-type]  # the hub stand-in above
        remotes = {name: Remote(name) for name in NODES}
        conns = [Conn(f"c{i}") for i in range(5)]
        for _ in range(300):
            action = rng.random()
            if action < 0.3:
                conn = rng.choice(conns)
                presence.track(conn, rng.choice(TOPICS), rng.choice(KEYS), {"n": rng.random()})  # type: ignore[arg-type]
            elif action < 0.45:
                presence.untrack(rng.choice(conns), rng.choice((None, *TOPICS)))  # type: ignore[arg-type]
            elif action < 0.8:
                delta = rng.choice(list(remotes.values())).delta(rng)
                if rng.random() < 0.8:  # the rest are lost: a later state repairs them
                    presence.receive(delta)
            elif action < 0.9:
                presence.receive(rng.choice(list(remotes.values())).state())
            else:
                name = rng.choice(NODES)
                presence.receive({"t": "bye", "n": name})
                remotes[name] = Remote(name)  # it comes back as a new node, empty
            for topic in TOPICS:
                assert presence.count(topic) == union_count(presence, topic), (seed, topic)
        if presence._flush_handle is not None:
            presence._flush_handle.cancel()
