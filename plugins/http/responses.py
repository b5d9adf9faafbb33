"""The response envelope and how errors become responses.

Success: ``{"ok": true, "data": …}``. Failure: ``{"ok": false, "error": {"code", "message",
"details"}}`` with the status the error maps to. JSON is written by pydantic-core (models,
dataclasses, datetimes, UUIDs and decimals serialise as they validate).
"""

from __future__ import annotations

import traceback
from collections.abc import MutableMapping
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mega import MegaError, MegaValidationError

JSON = "application/json"


#: statuses that carry no body (RFC 9110): an envelope after them would corrupt the stream
BODYLESS = frozenset({204, 205, 304})


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if status in BODYLESS:
        return Response(None, status, headers)
    return Response(to_json({"ok": True, "data": data}), status, headers, JSON)


def error_body(code: str, message: str, details: Any = None) -> bytes:
    return to_json(
        {"ok": False, "error": {"code": code, "message": message, "details": details or {}}},
        fallback=repr,
    )


def fail(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    """An error answer in the envelope: ``{"ok": false, "error": {code, message, details}}``
    with ``status`` (for middleware and handlers that answer an error themselves)."""
    return Response(error_body(code, message, details), status, headers, JSON)


def bodyless(response: Response) -> Response:
    """A handler's error response with no body (``Response(status_code=404)``) as the envelope
    of its status, its headers kept: every 4xx/5xx the app answers says what it is."""
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return fail(status, f"http.{status}", phrase, None, headers)


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


#: ``scope`` key set once a 5xx was logged with its cause, so the outer layer does not log it again
LOGGED = "mega.error_logged"
_SERVER_ERRORS = {
    500: "internal server error",
    502: "a service this request depends on answered badly",
    503: "the service is unavailable for the moment; try again shortly",
    504: "a service this request depends on did not answer in time",
}


def server_error_message(status: int, request_id: str) -> str:
    """What a 5xx says to the client: the kind of failure and the request id, nothing inside."""
    what = _SERVER_ERRORS.get(status, "server error")
    return f"{what}; quote request id {request_id} when reporting it"


def retry_after(exc: MegaError) -> dict[str, str] | None:
    """Retry-After for a 429/503 whose details name the wait (``retry_after_s``); others get
    ``[plugins.http] retry_after_s`` from the outer layer."""
    wait = exc.details.get("retry_after_s")
    if exc.http_status in (429, 503) and isinstance(wait, int | float):
        return {"retry-after": str(max(int(wait), 0))}
    return None


def from_exception(
    exc: BaseException,
    request_id: str,
    *,
    debug: bool,
    log: Any,
    scope: MutableMapping[str, Any] | None = None,
) -> Response:
    """The response for an exception a handler raised.

    A 4xx carries the error's code, message and details. A 5xx carries the code, a generic
    message and the request id — never SQL, driver text or a stack (a ``MegaError``'s message
    and details may hold them: ``db.query_failed`` does); those go to one error log line with
    the request id. ``debug = true`` adds them to the answer as well."""
    status = 500
    code = "internal.error"
    headers: dict[str, str] | None = None
    if isinstance(exc, MegaError):
        if exc.http_status < 500:
            return fail(exc.http_status, exc.code, exc.message, exc.details, retry_after(exc))
        status, code = exc.http_status, exc.code
        headers = retry_after(exc)
    elif isinstance(exc, HTTPException):
        if exc.status_code < 500:
            return fail(
                exc.status_code,
                f"http.{exc.status_code}",
                str(exc.detail),
                headers=dict(exc.headers or {}),
            )
        status, code = exc.status_code, f"http.{exc.status_code}"
        headers = dict(exc.headers or {})
    cause = f"{type(exc).__name__}: {exc}"
    internals = exc.details if isinstance(exc, MegaError) else {}
    log.error(
        "http.server_error",
        request_id=request_id,
        status=status,
        code=code,
        error=cause,
        details=internals,
        traceback="".join(traceback.format_exception(exc)),
    )
    if scope is not None:
        scope[LOGGED] = True
    details: dict[str, Any] = {"request_id": request_id}
    if debug:
        details |= {"error": cause, "internals": internals}
        details["traceback"] = traceback.format_exception(exc)
    return fail(status, code, server_error_message(status, request_id), details, headers)
