"""Error pages for browsers: the JSON error envelope rendered through a template.

With ``[plugins.http] error_page = "errors.html"``, a 4xx/5xx envelope answering a request that
accepts ``text/html`` (a page load, a form post) is replaced by that template, rendered with
``status``, ``error`` (``code``, ``message``, ``details``) and ``request_id`` besides the usual
``t``, ``url_for``, ``csrf_field``, ``session``, ``locale``. API clients (``Accept:
application/json``, ``*/*``) keep the envelope. Only error responses are buffered; a success
passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mega import get_logger

Render = Callable[[dict[str, Any], str, int, dict[str, Any]], str]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

log = get_logger(plugin="http")


def accepts_html(scope: dict[str, Any]) -> bool:
    for key, value in scope["headers"]:
        if key == b"accept":
            return b"text/html" in value
    return False


def html_errors(send: Send, scope: dict[str, Any], request_id: str, render: Render) -> Send:
    """A ``send`` that turns a JSON error response into the rendered error page."""
    held: Message | None = None
    body: list[bytes] = []

    async def send_page(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":  # (a second start: the first failed)
            held = None
            body.clear()
        if held is None:
            if (
                message["type"] == "http.response.start"
                and message["status"] >= 400
                and any(
                    key == b"content-type" and value.startswith(b"application/json")
                    for key, value in message.get("headers", ())
                )
            ):
                held = message
                return
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body"):
            return
        raw = b"".join(body)
        status = held["status"]
        try:
            error = json.loads(raw)["error"]
            page = render(scope, request_id, status, error).encode()
        except Exception as exc:  # the page must not hide the error it reports
            log.error("http.error_page_failed", status=status, error=repr(exc))
            await send(held)
            await send({"type": "http.response.body", "body": raw})
            return
        headers = [
            (key, value)
            for key, value in held.get("headers", ())
            if key not in (b"content-type", b"content-length")
        ]
        headers += [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(page)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    return send_page
