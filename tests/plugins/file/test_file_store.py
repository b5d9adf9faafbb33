"""The file store: values across instances (as across processes), expiry, safe names."""

from __future__ import annotations

import asyncio

import pytest

from mega.plugins.file import FileStore, FileStoreOptions


@pytest.fixture
def make(tmp_path):
    async def make(**options):
        store = FileStore(alias="t", options=FileStoreOptions(path=str(tmp_path / "s"), **options))
        await store.connect()
        return store

    return make


async def test_a_value_written_by_one_instance_is_read_by_another(make):
    writer, reader = await make(), await make()
    await writer.set("session:abc", {"user": "ada"})
    assert await reader.get("session:abc") == {"user": "ada"}
    assert await reader.delete("session:abc") is True
    assert await writer.get("session:abc", "gone") == "gone"


async def test_entries_expire(make):
    store = await make()
    await store.set("k", 1, ttl_ms=50)
    await store.set("forever", 2)
    await asyncio.sleep(0.1)
    assert await store.get("k") is None
    assert await store.get("forever") == 2


async def test_keys_cannot_escape_the_folder(make, tmp_path):
    store = await make()
    await store.set("../../etc/passwd", "x")
    assert {p.parent for p in (tmp_path / "s").iterdir()} == {tmp_path / "s"}
    assert not (tmp_path / "etc").exists()


async def test_expired_files_are_swept(make, tmp_path):
    store = await make(sweep_every=3)
    await store.set("a", 1, ttl_ms=1)
    await asyncio.sleep(0.01)
    await store.set("b", 2)
    await store.set("c", 3)  # the third write sweeps
    names = {p.name for p in (tmp_path / "s").glob("*.json")}
    assert len(names) == 2


async def test_server_sessions_on_files(http_project, tmp_path):
    files = {
        "apps/main/controllers/c.py": (
            "from mega.plugins.http import HttpCtx\n"
            "class C:\n"
            "    async def bump(self, ctx: HttpCtx) -> int:\n"
            "        ctx.session['n'] = ctx.session.get('n', 0) + 1\n"
            "        return ctx.session['n']\n"
        ),
        "apps/main/routes/r.py": (
            "from mega.plugins.http import post\nfrom apps.main.controllers.c import C\n"
            "routes = [post('/bump', C.bump, name='bump', csrf=False)]\n"
        ),
    }
    settings = {"session": {"secret_key": "f" * 40, "store": "server"}}
    adapters = {"session": {"default": {"driver": "file", "path": str(tmp_path / "sessions")}}}
    async with http_project(files, settings, plugins=("http", "file"), adapters=adapters) as (
        _,
        client,
    ):
        assert (await client.post("/bump")).json()["data"] == 1
        assert (await client.post("/bump")).json()["data"] == 2
    assert len(list((tmp_path / "sessions").glob("*.json"))) == 1


async def test_incr_is_atomic_across_instances(make):
    # each instance's increments run in worker threads with their own file handles, as separate
    # processes would: without the lock, read-modify-write races lose counts
    first, second = await make(), await make()
    results = await asyncio.gather(
        *(store.incr("attempts", ttl_ms=60_000) for store in [first, second] * 40)
    )
    assert sorted(results) == list(range(1, 81))
    assert await first.get("attempts") == 80


async def test_incr_starts_again_after_the_window(make):
    store = await make()
    assert await store.incr("w", 2, ttl_ms=50) == 2
    await asyncio.sleep(0.08)
    assert await store.incr("w", ttl_ms=50) == 1
