"""Note: a user's note on a board. Deleting the board or the author deletes the note."""

from mega.plugins.db import BigInt, Index, Model, Text

from .board import Board
from .user import User


class Note(Model):
    __table__ = "notes"
    __timestamps__ = True
    __indexes__ = [Index("board_id", "id")]

    board_id = BigInt(references=Board, on_delete="cascade")
    author_id = BigInt(references=User, on_delete="cascade")
    body = Text()
