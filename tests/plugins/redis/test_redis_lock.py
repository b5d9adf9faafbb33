"""The redis lock driver passes the lock conformance kit against the real server."""

from __future__ import annotations

import uuid

import pytest

from mega.plugins.redis import RedisLock, RedisLockOptions
from mega.testing.lock_suite import *  # noqa: F403
from mega.testing.lock_suite import connected_locks
from mega.testing.services import require


@pytest.fixture
async def lock_factory():
    require("redis")
    options = RedisLockOptions(key_prefix=f"mega-test:{uuid.uuid4().hex[:12]}:")
    async with connected_locks(lambda: RedisLock(alias="t", options=options)) as make:
        yield make
        [client] = (await make())._clients
        keys = [k async for k in client.scan_iter(match=f"{options.key_prefix}*")]
        if keys:
            await client.delete(*keys)


def test_at_least_one_master_url_is_required():
    with pytest.raises(ValueError, match="at least 1"):
        RedisLockOptions(urls=[])
