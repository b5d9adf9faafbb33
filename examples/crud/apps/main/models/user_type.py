"""UserType: what kind of account a user is (member, staff, admin). Seeded by a migration."""

from mega.plugins.db import Model, String


class UserType(Model):
    __table__ = "user_types"

    code = String(20, unique=True)
    name = String(60)
