"""Tables are created after the tables they reference, in a stable order: the heap-based sort
gives exactly the order of the plain rescanning definition, cycles included."""

from __future__ import annotations

import random
from types import SimpleNamespace

from mega.plugins.db.migrations.differ import _by_dependency


def reference(names, tables):
    """The definition: repeatedly the first pending table (by name) whose references are
    placed; on a cycle, the rest by name."""
    pending, ordered = sorted(names), []
    while pending:
        for name in pending:
            refs = {fk.ref_table for fk in tables[name].foreign_keys()} - {name}
            if not refs & (set(pending) - {name}):
                ordered.append(name)
                pending.remove(name)
                break
        else:
            ordered += pending
            break
    return ordered


def table(refs):
    keys = [SimpleNamespace(ref_table=ref) for ref in refs]
    return SimpleNamespace(foreign_keys=lambda: keys)


def test_the_sort_matches_the_definition_on_random_schemas():
    rng = random.Random(7)
    for _ in range(300):
        names = [f"t{i:02d}" for i in rng.sample(range(60), rng.randint(1, 25))]
        outside = ["elsewhere", "users"]
        tables = {name: table(rng.sample(names + outside, rng.randint(0, 3))) for name in names}
        assert _by_dependency(names, tables) == reference(names, tables)


def test_a_long_chain_is_ordered_from_its_root():
    names = [f"t{i:04d}" for i in range(2_000)]
    # each table references the next one by name: the last must come first
    tables = {n: table([names[i + 1]] if i + 1 < len(names) else []) for i, n in enumerate(names)}
    assert _by_dependency(names, tables) == list(reversed(names))
