"""The migration lock on MongoDB: a lease document in ``mega_locks``.

Taking it inserts ``{_id: name, owner, expires_at}``; the unique ``_id`` lets one holder in.
The holder extends the lease while it runs, so a crashed holder's lock is taken over once its
lease has expired (``lease_s``, on the clients' clocks).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from mega.plugins.db import lock_timeout

if TYPE_CHECKING:
    from .database import MongoDatabase

LOCKS = "mega_locks"
LEASE_S = 30.0


@contextlib.asynccontextmanager
async def migration_lock(
    db: MongoDatabase, name: str, timeout_s: float, lease_s: float = LEASE_S
) -> AsyncIterator[None]:
    locks = db.collection(LOCKS)
    errors = db._pymongo.errors
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        now = dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(seconds=lease_s)
        try:
            await locks.insert_one({"_id": name, "owner": owner, "expires_at": expires})
            break
        except errors.DuplicateKeyError:
            taken = await locks.find_one_and_update(
                {"_id": name, "expires_at": {"$lt": now}},
                {"$set": {"owner": owner, "expires_at": expires}},
            )
            if taken is not None:
                break
        except Exception as exc:
            raise db._fail(exc, f"lock {name}") from exc
        if time.monotonic() >= deadline:
            raise lock_timeout(name, timeout_s)
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.25)

    async def extend() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            with contextlib.suppress(Exception):  # the next round tries again
                await locks.update_one(
                    {"_id": name, "owner": owner},
                    {
                        "$set": {
                            "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lease_s)
                        }
                    },
                )

    keeper = asyncio.create_task(extend())
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        with contextlib.suppress(Exception):
            await locks.delete_one({"_id": name, "owner": owner})
