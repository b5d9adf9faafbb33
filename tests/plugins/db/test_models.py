"""Model declarations: fields, keys, indexes, and the errors a wrong model gets at import."""

from __future__ import annotations

import decimal
import uuid

import pytest

from mega import MegaConfigError
from mega.plugins.db import (
    BigInt,
    DateTime,
    Decimal,
    Enum,
    Index,
    Int,
    Model,
    PartitionBy,
    String,
    Uuid,
)
from mega.plugins.db.fields import field_from_spec


def test_a_model_without_a_key_gets_an_autoincrement_id_and_a_snake_table_name():
    class BlogPost(Model):
        title = String(200)

    assert BlogPost.__table__ == "blog_post"
    assert list(BlogPost.__fields__) == ["id", "title"]
    assert BlogPost.__primary_key__.autoincrement and BlogPost.id.kind == "bigint"


def test_timestamps_and_uuid_keys():
    class Token(Model):
        __timestamps__ = True
        id = Uuid(primary_key=True)

    assert list(Token.__fields__) == ["id", "created_at", "updated_at"]
    assert isinstance(Token.id.make_default(), uuid.UUID)
    assert Token.updated_at.auto_now and not Token.created_at.auto_now


def test_fields_inherited_from_an_abstract_base_belong_to_each_model():
    class Base(Model):
        __abstract__ = True
        name = String(50)

    class A(Base):
        pass

    class B(Base):
        pass

    assert A.name is not B.name
    assert A.name.model is A and B.name.model is B


@pytest.mark.parametrize(
    ("build", "code", "fragment"),
    [
        (lambda: String(0), "db.invalid_field", "length=0"),
        (lambda: Decimal(5, 6), "db.invalid_field", "scale"),
        (lambda: Enum(), "db.invalid_field", "one or more"),
        (lambda: Enum("a", "a"), "db.invalid_field", "repeat"),
        (lambda: Int(primary_key=True, nullable=True), "db.invalid_field", "cannot be nullable"),
        (lambda: Int(on_delete="explode"), "db.invalid_field", "on_delete='explode'"),
        (lambda: Int(on_delete="set null"), "db.invalid_field", "nullable=True"),
        (lambda: Int(autoincrement=True), "db.invalid_field", "primary_key=True"),
    ],
)
def test_bad_field_arguments_fail_at_definition(build, code, fragment):
    with pytest.raises(MegaConfigError) as err:
        build()
    assert err.value.code == code and fragment in err.value.message


def test_bad_models_fail_at_definition_naming_the_model():
    with pytest.raises(MegaConfigError) as err:

        class TwoKeys(Model):
            a = Int(primary_key=True)
            b = Int(primary_key=True)

    assert "TwoKeys" in err.value.message and "2 primary keys" in err.value.message

    with pytest.raises(MegaConfigError) as err:

        class BadTable(Model):
            __table__ = "users; drop table x"

    assert err.value.code == "db.invalid_identifier"

    with pytest.raises(MegaConfigError) as err:

        class BadIndex(Model):
            name = String(10)
            __indexes__ = [Index("nmae")]

    assert "'nmae'" in err.value.message and "name" in err.value.message

    with pytest.raises(MegaConfigError):

        class BadPartition(Model):
            __partition__ = PartitionBy("at")


def test_conditions_refuse_to_be_used_as_booleans():
    class Item(Model):
        price = Int()

    with pytest.raises(TypeError, match="no truth value"):
        if Item.price > 3:
            pass


def test_field_specs_round_trip_for_the_migrations_journal():
    class Account(Model):
        balance = Decimal(12, 2, default=decimal.Decimal("0.00"))
        kind = Enum("a", "b", default="a")
        owner = BigInt(references="users.id", on_delete="cascade")
        seen = DateTime(nullable=True)

    for field in Account.__fields__.values():
        again = field_from_spec(field.spec())
        assert again.spec() == field.spec()
    assert Account.balance.spec()["default"] == "0.00"
    assert Account.owner.spec()["references"] == ["users", "id"]
