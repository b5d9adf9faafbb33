"""AuthService: registration and sign-in, independent of HTTP (the seed script uses it too)."""

from __future__ import annotations

from typing import Any

from mega import Ctx
from mega.plugins.db import IntegrityViolation

from ..jobs.send_welcome import SendWelcome
from ..models.user import User
from ..models.user_level import UserLevel
from ..models.user_type import UserType
from ..models.wallet import Wallet
from .errors import FieldError
from .log_service import LogService
from .login_guard import LoginGuard
from .passwords import check_strength, hash_password, needs_rehash, verify_password


class AuthService:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.db = ctx.db()
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
            "password_hash": await hash_password(password),
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
        """The user whose credentials these are; ``FieldError`` or ``TooManyAttempts`` if not."""
        email = email.strip().lower()
        guard = LoginGuard(self.ctx)
        await guard.check(email, address)
        found = await self.db.find(User, where={"email": email}, limit=1)
        user = found[0] if found else None
        if not await verify_password(user["password_hash"] if user else None, password):
            await guard.failed(email, address)
            await LogService(self.ctx).write(
                "auth.failed", user["id"] if user else None, email=email, address=address
            )
            raise FieldError("auth.invalid_credentials", "password", "wrong e-mail or password")
        assert user is not None
        await guard.succeeded(email)
        if needs_rehash(user["password_hash"]):
            new_hash = await hash_password(password)
            await self.db.update(User, {"password_hash": new_hash}, User.id == user["id"])
        await LogService(self.ctx).write("auth.login", user["id"], address=address)
        return user
