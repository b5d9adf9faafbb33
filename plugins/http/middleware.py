"""``MegaHttpMiddleware``: the one outer ASGI layer every request passes.

It gives the request an id (kept from the ``x-request-id`` header when it looks like one), adds
the security headers (all of them on documents; on JSON only those that protect an API response)
and the id to the response, enforces the body size limit (by
``content-length`` up front, and by counting while the body streams), and turns an exception
that escaped everything else into a 500 envelope. Pure ASGI: measured here, a Starlette
``BaseHTTPMiddleware`` layer alone costs ~80 µs and cuts throughput to 0.22x.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from time import perf_counter
from typing import Any

from mega import MegaError, get_logger, reset_log_context, set_log_context

from . import responses
from .error_pages import Message, Send, accepts_html, html_errors
from .settings import HttpSettings

Scope = dict[str, Any]
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class BodyTooLarge(MegaError):
    http_status = 413


def _static_headers(settings: HttpSettings, *, json: bool) -> list[tuple[bytes, bytes]]:
    h = settings.security_headers
    pairs = [(b"x-content-type-options", h.x_content_type_options)]
    if not json or h.document_headers_on_json:
        pairs += [
            (b"content-security-policy", h.content_security_policy),
            (b"referrer-policy", h.referrer_policy),
            (b"x-frame-options", h.x_frame_options),
        ]
    return [(k, v.encode()) for k, v in pairs if v]


class MegaHttpMiddleware:
    def __init__(
        self,
        app: Any,
        settings: HttpSettings,
        *,
        debug: bool,
        error_page: Callable[[dict[str, Any], str, int, dict[str, Any]], str] | None = None,
        refused: Callable[[Scope, int, float], None] | None = None,
    ) -> None:
        self.app = app
        #: ``refused(scope, status, seconds)`` for a request answered here, before routing (a
        #: body over the limit by its content-length), so the request observers count it too
        self.refused = refused
        #: renders an error envelope as a page for browsers (``[plugins.http] error_page``)
        self.error_page = error_page
        self.limit = settings.max_body_bytes
        self.upload_limit = settings.max_upload_bytes
        self.id_header = settings.request_id_header.lower().encode()
        self.headers = _static_headers(settings, json=False)
        self.json_headers = _static_headers(settings, json=True)
        self.header_names = frozenset(name for name, _value in self.headers)
        max_age = settings.security_headers.hsts_max_age_s
        self.hsts = (
            [(b"strict-transport-security", f"max-age={max_age}; includeSubDomains".encode())]
            if max_age
            else []
        )
        self.retry_after = (b"retry-after", str(settings.retry_after_s).encode())
        self.debug = debug
        self.log = get_logger(plugin="http")
        # ids unique across processes and restarts (a random prefix per process) without a
        # urandom call per request
        prefix = os.urandom(5).hex()
        self._ids = (f"{prefix}{n:06x}".encode() for n in itertools.count(1))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = b""
        length = -1
        limit = self.limit
        for key, value in scope["headers"]:
            if key == self.id_header and _REQUEST_ID.match(value):
                request_id = value
            elif key == b"content-length" and value.isdigit():
                length = int(value)
            elif key == b"content-type" and value.startswith(b"multipart/form-data"):
                limit = self.upload_limit
        if not request_id:
            request_id = next(self._ids)
        rid = request_id.decode()
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = rid
        # every line written for this request carries its id, whoever writes it
        log_token = set_log_context({"request_id": rid})
        own = [(self.id_header, request_id)]
        if scope.get("scheme") == "https":
            own += self.hsts
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 500 and not scope.get(responses.LOGGED):
                    # a 5xx a handler or middleware answered itself: still one error line
                    self.log.error(
                        "http.server_error",
                        request_id=rid,
                        status=message["status"],
                        method=scope["method"],
                        path=scope["path"],
                    )
                headers = message.get("headers", ())
                security = self.headers
                overridden = False
                for key, value in headers:
                    if key == b"content-type":
                        if value.startswith(b"application/json"):
                            security = self.json_headers
                    elif key in self.header_names:
                        overridden = True
                if overridden:
                    # a response that sets a security header itself (the /docs page's own,
                    # stricter CSP) keeps its value: sending both would enforce both
                    mine = {key for key, _value in headers}
                    security = [h for h in security if h[0] not in mine]
                extra = own
                if message["status"] in (429, 503) and all(k != b"retry-after" for k, _ in headers):
                    extra = [*own, self.retry_after]  # back-pressure says when to come back
                message["headers"] = [*headers, *security, *extra]
            await send(message)

        send_on: Send = send_with_headers
        if self.error_page is not None and accepts_html(scope):
            send_on = html_errors(send_with_headers, scope, rid, self.error_page)
        try:
            if length > limit:
                refused_at = perf_counter()
                await self._too_large(receive, send_on, limit)
                if self.refused is not None:
                    self.refused(scope, 413, perf_counter() - refused_at)
                return
            seen = 0

            async def counted_receive() -> dict[str, Any]:
                nonlocal seen
                message: dict[str, Any] = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise BodyTooLarge(
                            "request.too_large", _too_large_message(limit), {"limit": limit}
                        )
                return message

            try:
                await self.app(scope, counted_receive, send_on)
            except Exception as exc:
                if started:
                    raise  # the response is under way; the server will close the connection
                response = responses.from_exception(
                    exc, rid, debug=self.debug, log=self.log, scope=scope
                )
                await response(scope, counted_receive, send_on)
        finally:
            reset_log_context(log_token)

    async def _too_large(self, receive: Any, send: Send, limit: int) -> None:
        response = responses.fail(
            413, "request.too_large", _too_large_message(limit), {"limit": limit}
        )
        await response({"type": "http"}, receive, send)


def _too_large_message(limit: int) -> str:
    return (
        f"the request body is larger than the limit of {limit} bytes "
        "([plugins.http] max_body_bytes; max_upload_bytes for multipart uploads)"
    )
