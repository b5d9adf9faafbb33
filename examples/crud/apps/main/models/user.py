"""User: an account. Passwords are argon2 hashes; avatars are small images kept in the row."""

from mega.plugins.db import BigInt, Bytes, Enum, Index, Model, String

from .user_level import UserLevel
from .user_type import UserType


class User(Model):
    __table__ = "users"
    __timestamps__ = True  # created_at / updated_at, set by mega
    __indexes__ = [Index("name"), Index("type_id", "level_id")]

    email = String(254, unique=True)
    name = String(100)
    password_hash = String(200)
    locale = Enum("en", "ko", default="en")
    type_id = BigInt(references=UserType, on_delete="restrict")
    level_id = BigInt(references=UserLevel, on_delete="restrict")
    avatar = Bytes(nullable=True)
    avatar_type = String(40, nullable=True)
