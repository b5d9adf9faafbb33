"""Declarative models: a class per table, its fields as class attributes.

::

    class User(Model):
        __table__ = "users"
        __timestamps__ = True                    # created_at / updated_at, set by mega
        __indexes__ = [Index("last_name", "first_name")]

        id = BigInt(primary_key=True)            # added for you when no field is the key
        email = String(255, unique=True)
        name = String(100)
        team_id = BigInt(references=Team, on_delete="cascade", nullable=True)

Rows travel as plain dicts keyed by field name. ``User.validate(data)`` checks a dict against a
pydantic model derived from the fields; ``User.json_schema()`` is its JSON Schema.
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from mega import MegaConfigError, MegaValidationError

from .fields import MISSING, BigInt, DateTime, Field
from .schema import Index, PartitionBy, Table

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def check_identifier(name: str, what: str) -> str:
    """``name`` if it is a plain SQL identifier (letters, digits, _; at most 63), else raise."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise MegaConfigError(
            "db.invalid_identifier",
            f"{what} {name!r} is not a plain identifier; expected letters, digits and _ "
            "(not starting with a digit), at most 63 characters",
            {"name": name, "what": what},
        )
    return name


class Model:
    """Base of every model. Subclass it; set ``__abstract__ = True`` for a shared base."""

    __abstract__: ClassVar[bool] = True
    __table__: ClassVar[str]
    __timestamps__: ClassVar[bool] = False
    __indexes__: ClassVar[list[Index]] = []
    __partition__: ClassVar[PartitionBy | None] = None
    #: the table's previous name, so migrations rename instead of drop + create
    __renamed_from__: ClassVar[str | None] = None

    __fields__: ClassVar[dict[str, Field]]
    __primary_key__: ClassVar[Field]
    __validators__: ClassVar[dict[bool, type[BaseModel]]]
    #: the primary key added (a ``BigInt``) when a model declares none; a model whose own key
    #: has another name has no ``id``
    id: ClassVar[Field]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__abstract__", False):
            return
        cls.__abstract__ = False
        fields: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Field):
                    fields[name] = value
        for name, value in list(fields.items()):
            if name not in cls.__dict__:
                # a field inherited from a base is copied: a condition must know its own model
                fields[name] = copy.copy(value)
                setattr(cls, name, fields[name])
        if "__table__" not in cls.__dict__:
            cls.__table__ = _CAMEL.sub("_", cls.__name__).lower()
        check_identifier(cls.__table__, f"model {cls.__name__}'s table name")
        if cls.__timestamps__:
            for name, auto_now in (("created_at", False), ("updated_at", True)):
                if name not in fields:
                    stamp = DateTime(auto_now_add=True, auto_now=auto_now)
                    stamp.__set_name__(cls, name)
                    setattr(cls, name, stamp)
                    fields[name] = stamp
        keys = [f for f in fields.values() if f.primary_key]
        if not keys:
            key = BigInt(primary_key=True)
            key.__set_name__(cls, "id")
            cls.id = key
            fields = {"id": key, **fields}
            keys = [key]
        if len(keys) > 1:
            raise MegaConfigError(
                "db.invalid_model",
                f"model {cls.__name__} declares {len(keys)} primary keys "
                f"({', '.join(k.name for k in keys)}); a model has exactly one (use a unique "
                "Index for a composite natural key)",
                {"model": cls.__name__},
            )
        for name, field in fields.items():
            check_identifier(name, f"field {cls.__name__}.{name}")
            field.model = cls
        cls.__fields__ = fields
        cls.__primary_key__ = keys[0]
        cls.__validators__ = {}
        partition = cls.__partition__
        if partition is not None and partition.column not in fields:
            raise MegaConfigError(
                "db.invalid_model",
                f"model {cls.__name__} is partitioned by {partition.column!r}, which is not one "
                f"of its fields ({', '.join(fields)})",
                {"model": cls.__name__},
            )
        for index in cls.__indexes__:
            for column in index.columns:
                name = column if isinstance(column, str) else column.name
                if name not in fields:
                    raise MegaConfigError(
                        "db.invalid_model",
                        f"an index of model {cls.__name__} names {name!r}, which is not one of "
                        f"its fields ({', '.join(fields)})",
                        {"model": cls.__name__, "column": name},
                    )

    @classmethod
    def table_def(cls) -> Table:
        """The model as a dialect-neutral table definition."""
        return Table(
            cls.__table__,
            list(cls.__fields__.values()),
            [index.resolve(cls.__table__) for index in cls.__indexes__],
            cls.__partition__,
        )

    @classmethod
    def field(cls, name: str) -> Field:
        """The field called ``name``; an unknown name raises, listing the model's fields."""
        try:
            return cls.__fields__[name]
        except KeyError:
            from .errors import invalid

            raise invalid(
                "unknown_field",
                f"model {cls.__name__} has no field {name!r}; its fields: "
                f"{', '.join(cls.__fields__)}",
                model=cls.__name__,
                field=name,
            ) from None

    # -- validation -------------------------------------------------------------------------

    @classmethod
    def validator(cls, *, partial: bool = False) -> type[BaseModel]:
        """The pydantic model for inserts (``partial=False``) or updates (every field optional).

        Autoincrement keys and ``auto_now`` timestamps are left out: mega sets them."""
        found = cls.__validators__.get(partial)
        if found is not None:
            return found
        definitions: dict[str, Any] = {}
        for name, field in cls.__fields__.items():
            if field.autoincrement or getattr(field, "auto_now_add", False):
                continue
            annotation = field.pydantic_type()
            if field.nullable:
                annotation = annotation | None
            if field.required and not partial:
                definitions[name] = (annotation, ...)
            else:
                # the JSON Schema shows a literal default; the insert applies the real one
                literal = field.default is not MISSING and not callable(field.default)
                definitions[name] = (annotation, field.literal_default() if literal else None)
        model = create_model(
            f"{cls.__name__}Input" if not partial else f"{cls.__name__}Patch",
            __config__=ConfigDict(extra="forbid"),
            **definitions,
        )
        cls.__validators__[partial] = model
        return model  # type: ignore[no-any-return]

    @classmethod
    def validate(cls, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """``data`` checked and converted; raises ``MegaValidationError`` listing every error.

        Only the keys given are returned (missing ones get their defaults at insert); with
        ``partial=True`` no field is required (for updates)."""
        try:
            checked = cls.validator(partial=partial).model_validate(data)
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(p) for p in error["loc"]),
                    "message": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ]
            raise MegaValidationError(
                "validation.failed",
                f"{cls.__name__}: {len(errors)} invalid field(s): "
                + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                {"model": cls.__name__, "errors": errors},
            ) from None
        # fields the caller left out stay out: the insert applies their defaults
        return checked.model_dump(exclude_unset=True)

    @classmethod
    def json_schema(cls, *, partial: bool = False) -> dict[str, Any]:
        """JSON Schema of the insert (or, ``partial=True``, update) payload."""
        return cls.validator(partial=partial).model_json_schema()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Field name -> default for fields that have one (callables called now)."""
        return {
            name: field.make_default()
            for name, field in cls.__fields__.items()
            if field.default is not MISSING
        }
