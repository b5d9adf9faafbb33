"""Password hashing with argon2id (argon2-cffi), off the event loop.

Hashing costs tens of milliseconds of CPU by design; run on the loop it would stall every other
request, so it goes to a thread. ``check_strength`` is the app's password policy.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import FieldError

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# verified when the e-mail is unknown, so "no such user" takes as long as "wrong password"
_DUMMY = _hasher.hash("not-a-real-password")

MIN_LENGTH = 10
STRENGTH = (
    f"at least {MIN_LENGTH} characters, not only letters nor only digits, and not containing "
    "the e-mail's name"
)


def check_strength(password: str, email: str = "") -> None:
    """Raise ``FieldError`` unless the password is long and not trivially guessable."""
    if len(password) < MIN_LENGTH:
        raise FieldError(
            "auth.weak_password",
            "password",
            f"the password has {len(password)} characters; use at least {MIN_LENGTH}",
            min_length=MIN_LENGTH,
        )
    if password.isdigit() or password.isalpha():
        raise FieldError(
            "auth.weak_password",
            "password",
            "the password is only letters or only digits; mix letters with digits or symbols",
            min_length=MIN_LENGTH,
        )
    local = email.partition("@")[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise FieldError(
            "auth.weak_password",
            "password",
            "the password contains your e-mail name; choose one that does not",
            min_length=MIN_LENGTH,
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
