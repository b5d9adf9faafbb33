"""UserLevel: a ranked tier (bronze < silver < gold). Seeded by a migration."""

from mega.plugins.db import Int, Model, String


class UserLevel(Model):
    __table__ = "user_levels"

    code = String(20, unique=True)
    name = String(60)
    rank = Int(unique=True)
