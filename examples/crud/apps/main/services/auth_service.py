"""AuthService: registration and sign-in, independent of HTTP (the seed script uses it too).

Hashing, the lockouts and who is signed in are the auth plugin's (``mega.plugins.auth``); this
service decides what an account is. ``load_identity`` is the plugin's ``user_loader``
(mega.toml): the signed-in user and their role, read once per request.
"""

from __future__ import annotations

from typing import Any

from mega import Ctx
from mega.plugins.auth import Identity, guard, passwords
from mega.plugins.db import Database, IntegrityViolation

from ..jobs.send_welcome import SendWelcome
from ..models.user import User
from ..models.user_level import UserLevel
from ..models.user_type import UserType
from ..models.wallet import Wallet
from .errors import FieldError
from .log_service import LogService
from .password_policy import check_strength


class AuthService:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.db: Database = ctx.db()
        self.log = ctx.log.bind(service="auth")

    async def register(
        self,
        *,
        email: str,
        name: str,
        password: str,
        locale: str = "en",
        type_code: str = "member",
        level_code: str = "bronze",
    ) -> dict[str, Any]:
        """Create the user and their wallet in one transaction and queue the welcome e-mail.

        The job is enqueued inside the transaction, so it goes through the jobs outbox: it is
        published once the user is committed (a worker never looks for a user that is not
        there yet) and never if the transaction rolls back.
        """
        email = email.strip().lower()
        check_strength(password, email)
        if await self.db.exists(User, where={"email": email}):
            raise FieldError("auth.email_taken", "email", f"{email} is already registered")
        kind = await self.db.find(UserType, where={"code": type_code}, limit=1)
        level = await self.db.find(UserLevel, where={"code": level_code}, limit=1)
        if not kind or not level:
            raise FieldError("users.unknown_reference", "type", "unknown user type or level")
        row = {
            "email": email,
            "name": name.strip(),
            "locale": locale,
            "password_hash": await passwords(self.ctx).hash(password),
            "type_id": kind[0]["id"],
            "level_id": level[0]["id"],
        }
        try:
            async with self.db.transaction():
                user_id = await self.db.insert(User, row)
                await self.db.insert(Wallet, {"user_id": user_id})
                await self.ctx.jobs.enqueue(
                    SendWelcome, {"user_id": user_id}, msg_id=f"welcome-{user_id}"
                )
        except IntegrityViolation as exc:  # two registrations raced past the exists() check
            if exc.code != "db.unique_violation":
                raise
            raise FieldError("auth.email_taken", "email", f"{email} is already registered") from exc
        await LogService(self.ctx).write("user.registered", user_id, email=email)
        self.log.info("auth.registered", user_id=user_id)
        return {**row, "id": user_id}

    async def login(self, email: str, password: str, address: str) -> dict[str, Any]:
        """The user whose credentials these are; ``FieldError`` or the auth plugin's
        ``TooManyAttempts`` if not. A locked account or address is refused before any
        password is checked; an unknown e-mail costs what a wrong password does."""
        email = email.strip().lower()
        lockout = guard(self.ctx)
        await lockout.check(email, address)
        found = await self.db.find(User, where={"email": email}, limit=1)
        user: dict[str, Any] | None = found[0] if found else None
        stored = user["password_hash"] if user else None  # None: a dummy hash, same cost
        checked = await passwords(self.ctx).verify(stored, password)
        if user is None or not checked.ok:
            await lockout.record_failure(email, address)
            await LogService(self.ctx).write(
                "auth.failed", user["id"] if user else None, email=email, address=address
            )
            raise FieldError("auth.invalid_credentials", "password", "wrong e-mail or password")
        await lockout.record_success(email)
        if checked.needs_rehash:  # hashed with older parameters: store today's while we can
            new_hash = await passwords(self.ctx).hash(password)
            await self.db.update(User, {"password_hash": new_hash}, User.id == user["id"])
        await LogService(self.ctx).write("auth.login", user["id"], address=address)
        return user


async def load_identity(ctx: Ctx, user_id: Any) -> Identity | None:
    """``[plugins.auth] user_loader``: the signed-in user with ``is_admin``, their type's code
    as their role; None once the account is gone. Read on every request, so a changed type
    counts at once."""
    db = ctx.db()
    user = await db.get(User, int(user_id))
    if user is None:
        return None
    kind = await db.get(UserType, user["type_id"])
    roles = frozenset({kind["code"]}) if kind is not None else frozenset()
    user["is_admin"] = "admin" in roles
    return Identity(user["id"], roles, user)
