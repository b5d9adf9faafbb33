"""The app's password policy: what a new password must be like.

Hashing and verifying are the auth plugin's (``mega.plugins.auth.passwords``: argon2id, off the
event loop); what makes a password acceptable is this app's rule, shown on the registration
form and in the OpenAPI document.
"""

from __future__ import annotations

from .errors import FieldError

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
