"""The app's own errors: stable codes, a message for people, details for programs.

Each code has a message in the locale catalogs (``errors.<code>``). A form shows its errors beside
the fields in the reader's language (``middleware.FormPage``); a refusal (``Forbidden``,
``NotFound``, and the auth plugin's ``NotSignedIn`` and ``RoleRequired``) answers in that
language on the error page and in the JSON envelope (``middleware.LocalizedErrors``). Other JSON
errors carry the English text given here. The code and the details never change with the
language: programs read those. Sign-in lockouts are the auth plugin's ``TooManyAttempts``
(``auth.locked``, 429).
"""

from __future__ import annotations

from mega import MegaError


class AppError(MegaError):
    """Base of the crud app's errors."""


class FieldError(AppError):
    """One form field is wrong in a way only the app can tell (taken e-mail, weak password)."""

    http_status = 422

    def __init__(self, code: str, field: str, message: str, **details: object) -> None:
        super().__init__(code, message, {"field": field, **details})
        self.field = field


class NotFound(AppError):
    http_status = 404


class Forbidden(AppError):
    """Signed in, but the rules (``services/access.py``) do not allow it."""

    http_status = 403
