"""Filters and orderings built from model fields: ``User.age >= 18``, ``User.name.desc()``.

A condition holds the field and the *value*; the dialect renders it with a placeholder, so a value
never becomes SQL. Conditions combine with ``&``, ``|`` and ``~``. Using one as a bool (``if
User.age > 3:``) is a mistake and raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fields import Field

#: comparison operators a ``Compare`` may hold, and their SQL
COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


class Condition:
    """A WHERE clause node. Treat it as immutable: the nodes are not frozen dataclasses only
    because a frozen one's ``__init__`` costs 0.54 us against 0.12 us, on every query built."""

    __slots__ = ()

    def __and__(self, other: Condition) -> Condition:
        return And((self, other))

    def __or__(self, other: Condition) -> Condition:
        return Or((self, other))

    def __invert__(self) -> Condition:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a query condition has no truth value; pass it to db.find(...)/db.count(...), "
            "and combine conditions with &, | and ~ instead of and/or/not"
        )


@dataclass(slots=True, eq=False)
class Compare(Condition):
    field: Field
    op: str
    value: Any


@dataclass(slots=True, eq=False)
class InList(Condition):
    field: Field
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(slots=True, eq=False)
class IsNull(Condition):
    field: Field
    negate: bool = False


@dataclass(slots=True, eq=False)
class Like(Condition):
    field: Field
    pattern: str
    case_insensitive: bool = False
    negate: bool = False


@dataclass(slots=True, eq=False)
class And(Condition):
    items: tuple[Condition, ...]


@dataclass(slots=True, eq=False)
class Or(Condition):
    items: tuple[Condition, ...]


@dataclass(slots=True, eq=False)
class Not(Condition):
    item: Condition


@dataclass(frozen=True, slots=True)
class Order:
    """One ORDER BY key."""

    field: Field
    descending: bool = False


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (the dialects render ``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def all_of(conditions: Iterable[Condition]) -> Condition | None:
    items = tuple(conditions)
    if not items:
        return None
    return items[0] if len(items) == 1 else And(items)
