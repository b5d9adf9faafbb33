"""UsersService: the users list (filters, keyset pages), create, edit, delete."""

from __future__ import annotations

from typing import Any

from mega import Ctx
from mega.plugins.db import Page

from ..models.user import User
from ..models.user_level import UserLevel
from ..models.user_type import UserType
from ..models.wallet import Wallet
from .auth_service import AuthService
from .errors import FieldError, NotFound
from .log_service import LogService
from .passwords import check_strength, hash_password

PUBLIC = ("id", "email", "name", "locale", "type_id", "level_id", "created_at", "updated_at")
MAX_AVATAR_BYTES = 256 * 1024
AVATAR_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in PUBLIC} | {"has_avatar": row.get("avatar") is not None}


class UsersService:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.db = ctx.db()

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

    async def wallet(self, user_id: int) -> dict[str, Any] | None:
        found = await self.db.find(Wallet, where={"user_id": user_id}, limit=1)
        return found[0] if found else None

    async def create(self, data: dict[str, Any], *, actor: int | None) -> int:
        refs = await self.references()
        types = {t["id"]: t["code"] for t in refs["types"]}
        levels = {lv["id"]: lv["code"] for lv in refs["levels"]}
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
        await LogService(self.ctx).write("user.created", actor, target=user["id"])
        return int(user["id"])

    async def update(
        self,
        user_id: int,
        data: dict[str, Any],
        *,
        actor: int | None,
        avatar: tuple[bytes, str] | None = None,
    ) -> None:
        await self.get(user_id)
        changes = {k: v for k, v in data.items() if v is not None and k != "password"}
        if data.get("password"):
            check_strength(data["password"], data.get("email") or "")
            changes["password_hash"] = await hash_password(data["password"])
        if avatar is not None:
            content, content_type = avatar
            if content_type not in AVATAR_TYPES:
                raise FieldError(
                    "users.avatar_type",
                    "avatar",
                    f"the avatar is {content_type}; use one of {', '.join(AVATAR_TYPES)}",
                )
            if len(content) > MAX_AVATAR_BYTES:
                raise FieldError(
                    "users.avatar_too_large",
                    "avatar",
                    f"the avatar is {len(content) // 1024} KB; the limit is "
                    f"{MAX_AVATAR_BYTES // 1024} KB",
                    limit_bytes=MAX_AVATAR_BYTES,
                )
            changes |= {"avatar": content, "avatar_type": content_type}
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
            "user.updated", actor, target=user_id, fields=sorted(changes)
        )

    async def delete(self, user_id: int, *, actor: int | None) -> None:
        await self.get(user_id)
        await self.db.delete(User, User.id == user_id)  # wallet, boards, notes: cascade
        await LogService(self.ctx).write("user.deleted", actor, target=user_id)
