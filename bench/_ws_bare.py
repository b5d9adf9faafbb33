"""The baseline of bench/ws.py: a bare `websockets` server that broadcasts what it receives.

Every connection is a receiver; a text message from any of them goes to all of them through
``websockets.broadcast()`` (one encode per connection, no application protocol at all).
Usage: python bench/_ws_bare.py PORT
"""

from __future__ import annotations

import sys

import uvloop
from websockets.asyncio.server import broadcast, serve

CLIENTS: set = set()


async def handler(connection) -> None:
    CLIENTS.add(connection)
    try:
        async for message in connection:
            broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(connection)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
