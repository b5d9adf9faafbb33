"""Model field types. Each field is a column definition and a source of query conditions.

``User.age >= 18`` builds a condition; ``User.name.desc()`` an ordering. The kinds are the
portable column types every dialect maps (see ``Dialect.column_type``): int, bigint, string(len),
text, bool, date, datetime (time-zone aware, stored in UTC), decimal(p, s), float, json, uuid,
enum, bytes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum as std_enum
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from mega import MegaConfigError

from .expressions import Compare, Condition, InList, IsNull, Like, Order, escape_like

if TYPE_CHECKING:
    from .model import Model

ON_DELETE = ("cascade", "restrict", "set null", "no action")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: "no default": the column must be given on insert (or be nullable, or autoincrement)
MISSING: Any = _Missing()


def _bad(kind: str, message: str, **details: Any) -> MegaConfigError:
    return MegaConfigError("db.invalid_field", f"{kind} field: {message}", details)


class Field:
    """A column. Subclasses set ``kind``; the keyword arguments are common to every kind."""

    kind: ClassVar[str] = ""
    #: the Python type of values (for the derived pydantic model)
    python_type: ClassVar[Any] = object

    name: str
    model: type[Model]

    def __init__(
        self,
        *,
        nullable: bool = False,
        default: Any = MISSING,
        primary_key: bool = False,
        unique: bool = False,
        index: bool = False,
        references: type[Model] | str | None = None,
        on_delete: str = "restrict",
        renamed_from: str | None = None,
        doc: str = "",
    ) -> None:
        if primary_key and nullable:
            raise _bad(self.kind, "a primary key cannot be nullable")
        if on_delete not in ON_DELETE:
            raise _bad(
                self.kind,
                f"on_delete={on_delete!r}; expected one of {', '.join(ON_DELETE)}",
                on_delete=on_delete,
            )
        if on_delete == "set null" and not nullable:
            raise _bad(self.kind, 'on_delete="set null" needs nullable=True')
        self.nullable = nullable
        self.default = default
        self.primary_key = primary_key
        self.unique = unique
        self.index = index
        self.references = references
        self.on_delete = on_delete
        self.renamed_from = renamed_from
        self.doc = doc
        self.autoincrement = False
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        owner = getattr(self, "model", None)
        where = f"{owner.__name__}.{self.name}" if owner else self.name or "?"
        return f"<{type(self).__name__} {where}>"

    # -- defaults ---------------------------------------------------------------------------

    @property
    def required(self) -> bool:
        """Must an insert name this column?"""
        return self.default is MISSING and not self.nullable and not self.autoincrement

    def make_default(self) -> Any:
        default = self.default
        return default() if callable(default) else default

    # -- foreign keys -----------------------------------------------------------------------

    def reference(self) -> tuple[str, str] | None:
        """``(table, column)`` this field references, or None."""
        target = self.references
        if target is None:
            return None
        if isinstance(target, str):
            table, _, column = target.partition(".")
            return table, column or "id"
        return target.__table__, target.__primary_key__.name

    # -- conditions -------------------------------------------------------------------------

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return IsNull(self) if value is None else Compare(self, "eq", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return IsNull(self, negate=True) if value is None else Compare(self, "ne", value)

    def __lt__(self, value: Any) -> Condition:
        return Compare(self, "lt", value)

    def __le__(self, value: Any) -> Condition:
        return Compare(self, "lte", value)

    def __gt__(self, value: Any) -> Condition:
        return Compare(self, "gt", value)

    def __ge__(self, value: Any) -> Condition:
        return Compare(self, "gte", value)

    __hash__ = object.__hash__

    def in_(self, values: Iterable[Any]) -> Condition:
        return InList(self, tuple(values))

    def not_in(self, values: Iterable[Any]) -> Condition:
        return InList(self, tuple(values), negate=True)

    def is_null(self) -> Condition:
        return IsNull(self)

    def is_not_null(self) -> Condition:
        return IsNull(self, negate=True)

    def like(self, pattern: str) -> Condition:
        """Case-sensitive LIKE with the caller's ``%``/``_`` wildcards (``\\`` escapes)."""
        return Like(self, pattern)

    def ilike(self, pattern: str) -> Condition:
        return Like(self, pattern, case_insensitive=True)

    def not_like(self, pattern: str) -> Condition:
        return Like(self, pattern, negate=True)

    def contains(self, text: str, *, case_insensitive: bool = False) -> Condition:
        """The value contains ``text`` literally (wildcards in ``text`` are escaped)."""
        return Like(self, f"%{escape_like(text)}%", case_insensitive)

    def startswith(self, text: str, *, case_insensitive: bool = False) -> Condition:
        return Like(self, f"{escape_like(text)}%", case_insensitive)

    def asc(self) -> Order:
        return Order(self)

    def desc(self) -> Order:
        return Order(self, descending=True)

    # -- schema -----------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """A JSON-ready description of the column (the migrations journal stores these)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, **self._type_spec()}
        if self.nullable:
            out["nullable"] = True
        if self.primary_key:
            out["primary_key"] = True
        if self.autoincrement:
            out["autoincrement"] = True
        if self.unique:
            out["unique"] = True
        if self.default is not MISSING and not callable(self.default):
            out["default"] = self.literal_default()
        reference = self.reference()
        if reference:
            out["references"] = list(reference)
            out["on_delete"] = self.on_delete
        return out

    def _type_spec(self) -> dict[str, Any]:
        return {}

    def literal_default(self) -> Any:
        """The default as a JSON value (for DDL and the journal); callables have none."""
        value = self.default
        if isinstance(value, std_enum.Enum):
            value = value.value
        if isinstance(value, decimal.Decimal | uuid.UUID | dt.date):
            return str(value) if not isinstance(value, dt.date) else value.isoformat()
        return value

    def pydantic_type(self) -> Any:
        return self.python_type


class Int(Field):
    """A 32-bit integer. ``primary_key=True`` makes it autoincrement unless told otherwise."""

    kind = "int"
    python_type = int
    bounds = (-(2**31), 2**31 - 1)

    def __init__(self, *, autoincrement: bool | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.autoincrement = self.primary_key if autoincrement is None else autoincrement
        if self.autoincrement and not self.primary_key:
            raise _bad(self.kind, "autoincrement=True needs primary_key=True")

    def pydantic_type(self) -> Any:
        from pydantic import Field as PydanticField

        return Annotated[int, PydanticField(ge=self.bounds[0], le=self.bounds[1], strict=True)]


class BigInt(Int):
    """A 64-bit integer (the usual primary key)."""

    kind = "bigint"
    bounds = (-(2**63), 2**63 - 1)


class String(Field):
    """Text of at most ``length`` characters (``varchar(length)``)."""

    kind = "string"
    python_type = str

    def __init__(self, length: int = 255, **options: Any) -> None:
        if not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 16_383:
            raise _bad("string", f"length={length!r}; expected an int in 1..16383", length=length)
        super().__init__(**options)
        self.length = length

    def _type_spec(self) -> dict[str, Any]:
        return {"length": self.length}

    def pydantic_type(self) -> Any:
        from pydantic import Field as PydanticField

        return Annotated[str, PydanticField(max_length=self.length)]


class Text(Field):
    """Text of any length."""

    kind = "text"
    python_type = str


class Bool(Field):
    kind = "bool"
    python_type = bool

    def pydantic_type(self) -> Any:
        from pydantic import Field as PydanticField

        return Annotated[bool, PydanticField(strict=True)]


class Date(Field):
    kind = "date"
    python_type = dt.date


class DateTime(Field):
    """A point in time. Values must be time-zone aware; they are stored in UTC and read back
    as UTC datetimes. ``auto_now_add`` sets it on insert, ``auto_now`` on insert and update."""

    kind = "datetime"
    python_type = dt.datetime

    def __init__(self, *, auto_now_add: bool = False, auto_now: bool = False, **options: Any):
        super().__init__(**options)
        self.auto_now_add = auto_now_add or auto_now
        self.auto_now = auto_now
        if self.auto_now_add and self.default is MISSING:
            self.default = utc_now

    def pydantic_type(self) -> Any:
        from pydantic import AwareDatetime

        return AwareDatetime


class Decimal(Field):
    """An exact number with ``precision`` digits, ``scale`` of them after the point."""

    kind = "decimal"
    python_type = decimal.Decimal

    def __init__(self, precision: int = 18, scale: int = 2, **options: Any) -> None:
        if not (isinstance(precision, int) and isinstance(scale, int) and 0 <= scale <= precision):
            raise _bad(
                "decimal",
                f"precision={precision!r}, scale={scale!r}; expected ints with 0 <= scale <= "
                "precision",
            )
        if not 1 <= precision <= 38:
            raise _bad("decimal", f"precision={precision}; expected 1..38", precision=precision)
        super().__init__(**options)
        self.precision = precision
        self.scale = scale

    def _type_spec(self) -> dict[str, Any]:
        return {"precision": self.precision, "scale": self.scale}

    def pydantic_type(self) -> Any:
        from pydantic import Field as PydanticField

        return Annotated[
            decimal.Decimal,
            PydanticField(
                max_digits=self.precision, decimal_places=self.scale, allow_inf_nan=False
            ),
        ]


class Float(Field):
    """A double-precision float."""

    kind = "float"
    python_type = float


class Json(Field):
    """Any JSON value (dict, list, str, number, bool, None)."""

    kind = "json"
    python_type = Any


class Uuid(Field):
    """A UUID. ``primary_key=True`` defaults to ``uuid.uuid4()`` generated on insert."""

    kind = "uuid"
    python_type = uuid.UUID

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.primary_key and self.default is MISSING:
            self.default = uuid.uuid4


class Enum(Field):
    """One of a fixed set of strings: ``Enum("draft", "live")`` or ``Enum(MyStrEnum)``."""

    kind = "enum"
    python_type = str

    def __init__(self, *values: str | type[std_enum.Enum], **options: Any) -> None:
        if (
            len(values) == 1
            and isinstance(values[0], type)
            and issubclass(values[0], std_enum.Enum)
        ):
            self.enum_class: type[std_enum.Enum] | None = values[0]
            choices = tuple(str(member.value) for member in values[0])
        else:
            self.enum_class = None
            choices = tuple(values)  # type: ignore[arg-type]
        if not choices or not all(isinstance(v, str) and v for v in choices):
            raise _bad("enum", f"values {choices!r}; expected one or more non-empty strings")
        if len(set(choices)) != len(choices):
            raise _bad("enum", f"values {choices!r} repeat a value")
        super().__init__(**options)
        self.values: tuple[str, ...] = choices

    def _type_spec(self) -> dict[str, Any]:
        return {"values": list(self.values)}

    def pydantic_type(self) -> Any:
        return Literal[self.values]


class Bytes(Field):
    kind = "bytes"
    python_type = bytes


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: kind name -> field class (the migrations journal rebuilds fields from specs with it)
FIELD_KINDS: dict[str, type[Field]] = {
    cls.kind: cls
    for cls in (Int, BigInt, String, Text, Bool, Date, DateTime, Decimal, Float, Json, Uuid)
}
FIELD_KINDS["enum"] = Enum
FIELD_KINDS["bytes"] = Bytes


def field_from_spec(spec: dict[str, Any]) -> Field:
    """The inverse of ``Field.spec()`` (the default comes back as its JSON value)."""
    spec = dict(spec)
    name = spec.pop("name")
    kind = spec.pop("kind")
    cls = FIELD_KINDS[kind]
    args: list[Any] = []
    if kind == "string":
        args = [spec.pop("length")]
    elif kind == "decimal":
        args = [spec.pop("precision"), spec.pop("scale")]
    elif kind == "enum":
        args = list(spec.pop("values"))
    references = spec.pop("references", None)
    if references:
        spec["references"] = ".".join(references)
    autoincrement = spec.pop("autoincrement", False)
    if kind in ("int", "bigint"):
        spec["autoincrement"] = autoincrement
    field: Field = cls(*args, **spec)
    field.name = name
    return field


Converter = Callable[[Any], Any]
