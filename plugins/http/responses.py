"""The response envelope and how errors become responses.

Success: ``{"ok": true, "data": …}``. Failure: ``{"ok": false, "error": {"code", "message",
"details"}}`` with the status the error maps to. JSON is written by pydantic-core (models,
dataclasses, datetimes, UUIDs and decimals serialise as they validate).
"""

from __future__ import annotations

import traceback
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mega import MegaError, MegaValidationError

JSON = "application/json"


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(to_json({"ok": True, "data": data}), status, headers, JSON)


def error_body(code: str, message: str, details: Any = None) -> bytes:
    return to_json(
        {"ok": False, "error": {"code": code, "message": message, "details": details or {}}},
        fallback=repr,
    )


def fail(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(error_body(code, message, details), status, headers, JSON)


def invalid_input(exc: ValidationError, where: dict[str, str] | None) -> MegaValidationError:
    """The error for invalid input: 422 listing every invalid field as ``path.x``, ``query.y``
    or ``body.z``; 400 for a body that is not JSON. ``where`` maps parameter names to
    path/query; None: the body. Raised, so route middleware's ``error`` phase sees it (an HTML
    form re-renders itself with the messages)."""
    errors = []
    for err in exc.errors(include_url=False, include_context=False):
        if err["type"] == "json_invalid":
            return MegaValidationError(
                "request.invalid_json",
                f"the request body is not valid JSON: {err['msg']}",
                {"error": err["msg"]},
                http_status=400,
            )
        loc = [str(p) for p in err["loc"]]
        prefix = "body" if where is None else where.get(loc[0], "query")
        errors.append(
            {
                "field": ".".join([prefix, *loc]),
                "message": err["msg"],
                "type": err["type"],
                "input": err.get("input"),
            }
        )
    fields = ", ".join(e["field"] for e in errors)
    return MegaValidationError(
        "request.invalid", f"{len(errors)} invalid field(s): {fields}", {"errors": errors}
    )


def retry_after(exc: MegaError) -> dict[str, str] | None:
    """Retry-After for a 429/503 whose details name the wait (``retry_after_s``); others get
    ``[plugins.http] retry_after_s`` from the outer layer."""
    wait = exc.details.get("retry_after_s")
    if exc.http_status in (429, 503) and isinstance(wait, int | float):
        return {"retry-after": str(max(int(wait), 0))}
    return None


def from_exception(exc: BaseException, request_id: str, *, debug: bool, log: Any) -> Response:
    """The response for an exception a handler raised."""
    if isinstance(exc, MegaError):
        return fail(exc.http_status, exc.code, exc.message, exc.details, retry_after(exc))
    if isinstance(exc, HTTPException):
        return fail(
            exc.status_code,
            f"http.{exc.status_code}",
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )
    log.error(
        "http.unhandled_error",
        request_id=request_id,
        error=f"{type(exc).__name__}: {exc}",
        traceback=traceback.format_exc(),
    )
    details: dict[str, Any] = {"request_id": request_id}
    if debug:
        details["traceback"] = traceback.format_exception(exc)
    return fail(
        500,
        "internal.error",
        f"internal server error; quote request id {request_id} when reporting it",
        details,
    )
