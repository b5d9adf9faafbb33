"""``mega dev``'s port: a TCP proxy to the server running now.

Each connection is piped to the current server, so a new version can start on a port of its
own while the old one still answers; switching is setting ``target``. Bytes are piped as they
are (HTTP, keep-alive, WebSockets alike); with no server up, an HTTP 503 says why.
"""

from __future__ import annotations

import asyncio
import contextlib

UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 52\r\n\r\n"
    b"mega dev: the app is not running; see its terminal\n"
)


class Proxy:
    """The port users open: each connection is piped to the server running now, so a new
    server can start (on a port of its own) while the old one still answers."""

    def __init__(self) -> None:
        self.target: int | None = None
        self.server: asyncio.Server | None = None

    async def listen(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, host, port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            # connections still open end with their servers (Server.wait_closed would
            # wait for them in 3.12+)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = self.target
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        if target is not None:
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", target)
        if upstream is None:
            writer.write(UNAVAILABLE)
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        if reader.at_eof():
            writer.close()
