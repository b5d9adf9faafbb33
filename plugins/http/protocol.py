"""uvicorn's httptools protocol with bounded request heads: ``mega serve`` runs it.

httptools (llhttp) buffers a header until its line ends, with no limit of its own: measured
here, a 16 MB header got a 200, and eight connections each sending an unfinished 32 MB header
grew the server by ~274 MB. This protocol counts the bytes that arrive while a request's head
(request line + headers) is still incomplete and answers ``431`` and closes the connection once
they pass ``[plugins.http] max_header_bytes`` — so at most that plus one socket read (256 kB) is
ever buffered — or when the head has more than ``max_headers`` lines. Requests within the limits
cost two comparisons more (the check is in ``data_received`` and ``on_headers_complete``, not
per header).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .responses import error_body


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing (httptools wraps it in an
    HttpParserCallbackError, which uvicorn answers through ``send_400_response``)."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self, *args: Any, max_header_bytes: int = 65_536, max_headers: int = 100, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        #: bytes received since the current head began (None: its headers are complete)
        self.head_bytes: int | None = 0
        self.refused = False

    def data_received(self, data: bytes) -> None:
        if self.head_bytes is not None:
            self.head_bytes += len(data)
        super().data_received(data)
        # still within the head: refuse before the parser buffers more of it
        if self.head_bytes is not None and self.head_bytes > self.max_header_bytes:
            self._refuse()

    def on_headers_complete(self) -> None:
        seen = self.head_bytes
        self.head_bytes = None
        if len(self.headers) > self.max_headers:
            self.refused = True
            raise HeadTooLarge  # the parser stops; uvicorn calls send_400_response
        # the count includes any body bytes that came in the same read: measure exactly only
        # then (rare: a head near the limit, or a large first read)
        if seen is not None and seen > self.max_header_bytes:
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > self.max_header_bytes:
                self.refused = True
                raise HeadTooLarge
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0  # the next request's head starts (pipelined bytes of it uncounted)

    def send_400_response(self, msg: str) -> None:
        if self.refused:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        body = error_body(
            "request.header_too_large",
            f"the request head is larger than {self.max_header_bytes} bytes or has more than "
            f"{self.max_headers} header lines ([plugins.http] max_header_bytes, max_headers)",
            {"max_header_bytes": self.max_header_bytes, "max_headers": self.max_headers},
        )
        self.logger.warning("request refused: its head is over the limits (431)")
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()
        self.head_bytes = None
