"""Serve mongoeco (an in-memory MongoDB wire-protocol server) on 127.0.0.1:<port>.

Run by the ``mongo_server`` fixture with mongoeco's own Python 3.13 venv (``make
mongoeco``): ``.venv-mongoeco/bin/python mongoeco_server.py PORT [USER:PASSWORD]``. It stops on
SIGTERM. Kept free of mega imports: mega's venv is not this interpreter's.
"""

import asyncio
import signal
import sys


async def serve(port: int, users: list[str]) -> None:
    from mongoeco.wire.auth import WireAuthUser
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    auth = tuple(
        WireAuthUser(username=u.split(":", 1)[0], password=u.split(":", 1)[1]) for u in users
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # the default (memory) engine: its SQLite engine measured 2-4x slower here
    async with AsyncMongoEcoProxyServer(host="127.0.0.1", port=port, auth_users=auth):
        print("mongoeco listening", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2:]))
