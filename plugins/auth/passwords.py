"""``Passwords``: argon2id hashing and verification, off the event loop.

A hash costs tens of milliseconds of CPU and ``memory_cost`` KiB by design; on the loop it would
stall every other request, so it runs in a thread (argon2-cffi releases the GIL), at most
``concurrency`` at once so that a flood of sign-ins queues instead of holding a hash's memory
per request. An unknown account is answered after verifying against a dummy hash made with the
same parameters, so the answer takes as long as a wrong password and does not tell whether the
account exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mega import MegaError, get_logger, import_driver

from .settings import AuthSettings

if TYPE_CHECKING:
    from argon2 import PasswordHasher

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Verification:
    """What ``Passwords.verify`` found: ``ok`` (the password matches) and ``needs_rehash``
    (it matches a hash made with other parameters: store ``await passwords.hash(password)``)."""

    ok: bool
    needs_rehash: bool = False


class PasswordTooLong(MegaError):
    """A password longer than ``[plugins.auth] max_password_length``: refused before hashing."""

    http_status = 422

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            "auth.password_too_long",
            f"the password has {length} characters; the limit is {limit} "
            "([plugins.auth] max_password_length)",
            {"field": "password", "length": length, "max_length": limit},
        )


def make_hasher(settings: AuthSettings) -> PasswordHasher:
    """An argon2id ``PasswordHasher`` with the table's parameters."""
    argon2 = import_driver("argon2", extra="auth", what="the auth plugin's password hashing")
    hasher: PasswordHasher = argon2.PasswordHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_cost,
        parallelism=settings.parallelism,
        hash_len=settings.hash_len,
        salt_len=settings.salt_len,
        type=argon2.Type.ID,
    )
    return hasher


def _secret(password: str) -> bytes:
    # UTF-8 as argon2-cffi encodes a str, but a lone surrogate (valid in a JSON string) is kept
    # instead of raising: every str has a hash, and the same str always the same one
    return password.encode("utf-8", "surrogatepass")


class Passwords:
    """Hashes and verifies passwords with argon2id (``passwords(ctx)`` in an app)."""

    def __init__(self, settings: AuthSettings, hasher: PasswordHasher | None = None) -> None:
        self.settings = settings
        #: the argon2-cffi hasher every hash and verification goes through
        self.hasher = hasher if hasher is not None else make_hasher(settings)
        self.max_length = settings.max_password_length
        self._slots = asyncio.Semaphore(settings.concurrency or os.cpu_count() or 1)
        self._dummy: bytes | None = None
        self._log = get_logger(plugin="auth")

    async def start(self) -> None:
        """Make the dummy hash (once, at boot): with the configured parameters, so that
        verifying against it costs what verifying a real hash does."""
        if self._dummy is None:
            dummy = await self._run(self.hasher.hash, os.urandom(32))
            self._dummy = dummy.encode("ascii")

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (a fresh random salt each time)."""
        self._check_length(password)
        return await self._run(self.hasher.hash, _secret(password))

    async def verify(self, stored: str | None, password: str) -> Verification:
        """Whether ``password`` matches ``stored``; pass ``None`` for an account that does not
        exist: a dummy hash is verified instead, so both take the same time."""
        if len(password) > self.max_length:
            return Verification(ok=False)  # never hashed: no account can match it
        if stored is None:
            await self.dummy_verify(password)
            return Verification(ok=False)
        return await self._run(self._verify, stored, _secret(password))

    async def dummy_verify(self, password: str) -> None:
        """Spend what a verification costs and learn nothing: for an unknown account."""
        if self._dummy is None:
            await self.start()
        assert self._dummy is not None
        await self._run(self._verify_dummy, _secret(password[: self.max_length]))

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters (or another algorithm) than the
        configured ones; an unreadable hash needs one too."""
        from argon2.exceptions import InvalidHashError

        try:
            return self.hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def _check_length(self, password: str) -> None:
        if len(password) > self.max_length:
            raise PasswordTooLong(len(password), self.max_length)

    def _verify(self, stored: str, secret: bytes) -> Verification:
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            self.hasher.verify(stored, secret)
        except VerifyMismatchError:
            return Verification(ok=False)
        except (InvalidHashError, VerificationError, ValueError, UnicodeError):
            # a stored value that is no argon2 hash (damaged, or another scheme): no password
            # matches it; the dummy verification keeps the time of a real one
            self._log.warning("auth.invalid_hash", hash_prefix=str(stored)[:12])
            self._verify_dummy(secret)
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self.needs_rehash(stored))

    def _verify_dummy(self, secret: bytes) -> None:
        from argon2.exceptions import VerificationError

        assert self._dummy is not None
        with contextlib.suppress(VerificationError):
            self.hasher.verify(self._dummy, secret)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.to_thread(fn, *args)
