"""The error hierarchy every part of mega raises.

Each error carries a stable ``code`` (dotted, lower case: ``plugin.unknown``) that callers and tests
match on, a human ``message`` that states the broken rule, names the culprit and says what to do,
and ``details``: the offending values, for logs and JSON output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class MegaError(Exception):
    """Base of every error mega raises on purpose."""

    #: HTTP status the HTTP plugin maps this error to.
    http_status: int = 500

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        if http_status is not None:
            self.http_status = http_status

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": _jsonable(self.details)}


class MegaConfigError(MegaError):
    """Configuration, discovery or registration is wrong; raised at install or boot, never later."""


class MegaProblems(MegaConfigError):
    """Several configuration problems found in one pass, reported together."""

    def __init__(self, problems: Iterable[MegaConfigError]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {i}. {p}" for i, p in enumerate(self.problems, 1))
        super().__init__(
            "config.problems",
            f"{len(self.problems)} problems stop this app from booting:\n{lines}",
            {"problems": [p.to_dict() for p in self.problems]},
        )

    @classmethod
    def raise_if_any(cls, problems: list[MegaConfigError]) -> None:
        """Raise the single problem as itself, several as one ``MegaProblems``, none: nothing."""
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise cls(problems)


class MegaLifecycleError(MegaError):
    """A lifecycle hook failed; ``details`` name the plugin and the hook."""


class MegaShutdownError(MegaLifecycleError):
    """One or more shutdown steps failed; every step still ran. ``errors`` holds each failure."""

    def __init__(self, errors: list[tuple[str, BaseException]]) -> None:
        self.errors = errors
        lines = "; ".join(f"{who}: {type(exc).__name__}: {exc}" for who, exc in errors)
        super().__init__(
            "lifecycle.shutdown_failed",
            f"{len(errors)} shutdown step(s) failed (all steps ran): {lines}",
            {"errors": [{"step": who, "error": repr(exc)} for who, exc in errors]},
        )


class MegaNotFoundError(MegaError):
    """A named thing (adapter alias, generator, command) does not exist."""

    http_status = 404


class MegaValidationError(MegaError):
    """Input failed validation; ``details["errors"]`` lists each invalid field."""

    http_status = 422


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
