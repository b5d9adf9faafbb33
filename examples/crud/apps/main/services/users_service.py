"""UsersService: the users list (filters, keyset pages), create, edit, delete.

Every method that reads private data or writes takes the ``actor`` and asks ``access`` first.
"""

from __future__ import annotations

from typing import Any

from mega import Ctx
from mega.plugins.auth import passwords
from mega.plugins.db import Database, Page

from ..models.user import User
from ..models.user_level import UserLevel
from ..models.user_type import UserType
from ..models.wallet import Wallet
from . import access
from .access import Actor
from .auth_service import AuthService
from .avatars import image_type
from .errors import FieldError, NotFound
from .log_service import LogService
from .password_policy import check_strength

PUBLIC = ("id", "email", "name", "locale", "type_id", "level_id", "created_at", "updated_at")
MAX_AVATAR_BYTES = 256 * 1024
ROLE_FIELDS = ("type_id", "level_id")  # administrators only
PROFILE_FIELDS = ("email", "name", "password", "locale")  # the user themselves, or an admin


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in PUBLIC} | {"has_avatar": row.get("avatar") is not None}


class UsersService:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.db: Database = ctx.db()

    async def references(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "types": await self.db.find(UserType, order_by="id"),
            "levels": await self.db.find(UserLevel, order_by="rank"),
        }

    async def page(
        self,
        *,
        q: str = "",
        type_id: int | None = None,
        level_id: int | None = None,
        after: str | None = None,
        limit: int = 10,
    ) -> Page:
        """Users by name, ``limit`` at a time; ``after`` is the previous page's ``next``."""
        conditions = []
        if q:
            conditions.append(User.name.contains(q) | User.email.contains(q.lower()))
        if type_id is not None:
            conditions.append(User.type_id == type_id)
        if level_id is not None:
            conditions.append(User.level_id == level_id)
        return await self.db.page(User, *conditions, order_by="name", limit=limit, after=after)

    async def get(self, user_id: int) -> dict[str, Any]:
        row = await self.db.get(User, user_id)
        if row is None:
            raise NotFound("users.not_found", f"no user {user_id}", {"id": user_id})
        return row

    async def wallet(self, user_id: int, *, actor: Actor) -> dict[str, Any] | None:
        """The user's wallet, for them and administrators; None for anyone else."""
        if not access.may_see_wallet(actor, user_id):
            return None
        found = await self.db.find(Wallet, where={"user_id": user_id}, limit=1)
        return found[0] if found else None

    async def profile(self, user_id: int, *, actor: Actor) -> dict[str, Any]:
        user = public(await self.get(user_id))
        return {"user": user, "wallet": await self.wallet(user_id, actor=actor)}

    async def create(self, data: dict[str, Any], *, actor: Actor) -> int:
        """A user of any type and level: administrators only (registration makes members)."""
        access.check_create_users(actor)
        types, levels = await self._reference_codes()
        if data["type_id"] not in types or data["level_id"] not in levels:
            raise FieldError("users.unknown_reference", "type_id", "unknown user type or level")
        user = await AuthService(self.ctx).register(
            email=data["email"],
            name=data["name"],
            password=data["password"],
            locale=data.get("locale", "en"),
            type_code=types[data["type_id"]],
            level_code=levels[data["level_id"]],
        )
        await LogService(self.ctx).write("user.created", actor.id, target=user["id"])
        return int(user["id"])

    async def update(
        self,
        user_id: int,
        data: dict[str, Any],
        *,
        actor: Actor,
        avatar: bytes | None = None,
    ) -> None:
        """Change a profile: the user themselves or an administrator; type and level:
        administrators only (``access``). ``avatar``: the uploaded bytes, checked here."""
        access.check_edit_user(actor, user_id)
        user = await self.get(user_id)
        role = {k for k in ROLE_FIELDS if data.get(k) is not None and data[k] != user[k]}
        if role:
            access.check_role_change(actor, user_id, role)
            types, levels = await self._reference_codes()
            known = {"type_id": types, "level_id": levels}
            if any(data[k] not in known[k] for k in role):
                raise FieldError("users.unknown_reference", "type_id", "unknown user type or level")
        changes = {
            k: v
            for k, v in data.items()
            if v is not None and k in PROFILE_FIELDS and k != "password"
        }
        changes |= {k: data[k] for k in role}
        if data.get("password"):
            check_strength(data["password"], data.get("email") or user["email"])
            changes["password_hash"] = await passwords(self.ctx).hash(data["password"])
        if avatar is not None:
            if len(avatar) > MAX_AVATAR_BYTES:
                raise FieldError(
                    "users.avatar_too_large",
                    "avatar",
                    f"the avatar is {len(avatar) // 1024} KB; the limit is "
                    f"{MAX_AVATAR_BYTES // 1024} KB",
                    limit_bytes=MAX_AVATAR_BYTES,
                )
            changes |= {"avatar": avatar, "avatar_type": image_type(avatar)}
        if "email" in changes:
            changes["email"] = changes["email"].strip().lower()
            taken = await self.db.find(
                User, (User.email == changes["email"]) & (User.id != user_id), limit=1
            )
            if taken:
                raise FieldError("auth.email_taken", "email", f"{changes['email']} is taken")
        if changes:
            await self.db.update(User, changes, User.id == user_id)
        await LogService(self.ctx).write(
            "user.updated", actor.id, target=user_id, fields=sorted(changes)
        )

    async def delete(self, user_id: int, *, actor: Actor) -> None:
        """Administrators only, and never their own account (``access``)."""
        access.check_delete_user(actor, user_id)
        await self.get(user_id)
        await self.db.delete(User, User.id == user_id)  # wallet, boards, notes: cascade
        await LogService(self.ctx).write("user.deleted", actor.id, target=user_id)

    async def _reference_codes(self) -> tuple[dict[int, str], dict[int, str]]:
        refs = await self.references()
        types = {t["id"]: t["code"] for t in refs["types"]}
        levels = {lv["id"]: lv["code"] for lv in refs["levels"]}
        return types, levels
