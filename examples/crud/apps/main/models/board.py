"""Board: a user's board of notes."""

from mega.plugins.db import BigInt, Index, Model, String, Text

from .user import User


class Board(Model):
    __table__ = "boards"
    __timestamps__ = True
    __indexes__ = [Index("owner_id")]

    owner_id = BigInt(references=User, on_delete="cascade")
    title = String(120)
    description = Text(nullable=True)
