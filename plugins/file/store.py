"""``FileStore``: one JSON file per key under a folder, written atomically, with expiry.

A write goes to a temporary file that is then renamed over the old one, so a reader in another
process sees the old value or the new one, never half of either. File names are SHA-256 of the
key, so no key can name a path outside the folder. Expired files are removed when read, and swept
every ``sweep_every`` writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FileStoreOptions(BaseModel):
    """Keys of a session or cache adapter table for ``driver = "file"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the folder; relative paths are relative to the working directory (the project root)
    path: str = ".mega/store"
    #: TTL applied when ``set`` gets none; 0 keeps entries until deleted
    default_ttl_ms: int = Field(default=0, ge=0)
    sweep_every: int = Field(default=500, gt=0)


class FileStore:
    def __init__(self, *, alias: str, options: FileStoreOptions) -> None:
        self.alias = alias
        self.options = options
        self.folder = Path(options.path)
        self._writes = 0

    async def connect(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def health(self) -> None:
        """Readiness check: the folder exists and is writable."""
        if not await asyncio.to_thread(os.access, self.folder, os.W_OK):
            raise OSError(f"{self.folder} is not a writable folder")

    def _file(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    async def get(self, key: str, default: Any = None) -> Any:
        return await asyncio.to_thread(self._get, key, default)

    def _get(self, key: str, default: Any) -> Any:
        path = self._file(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return default
        if record["expires"] and record["expires"] <= time.time():
            path.unlink(missing_ok=True)
            return default
        return record["value"]

    async def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        expires = time.time() + ttl / 1000 if ttl > 0 else 0
        await asyncio.to_thread(self._set, key, {"value": value, "expires": expires})

    def _set(self, key: str, record: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, self._file(key))
        self._writes += 1
        if self._writes % self.options.sweep_every == 0:
            self._sweep()

    def _sweep(self) -> None:
        now = time.time()
        for path in self.folder.glob("*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if record["expires"] and record["expires"] <= now:
                    path.unlink(missing_ok=True)
            except (OSError, ValueError, KeyError):
                continue

    async def incr(self, key: str, amount: int = 1, *, ttl_ms: int | None = None) -> int:
        """Add ``amount`` to the integer under ``key`` (absent: 0) and return the new value.

        Atomic across processes: an exclusive ``flock`` on the store's one lock file around
        the read and the write (one file for every key, so none is left behind per key; an
        increment holds it for microseconds). ``ttl_ms`` applies when the key is created: a
        fixed window.
        """
        ttl = self.options.default_ttl_ms if ttl_ms is None else ttl_ms
        return await asyncio.to_thread(self._incr, key, amount, ttl)

    def _incr(self, key: str, amount: int, ttl: int) -> int:
        import fcntl

        from mega import cache_count

        with (self.folder / ".incr.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            path = self._file(key)
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                record = None
            if record is None or (record["expires"] and record["expires"] <= time.time()):
                record = {"value": 0, "expires": time.time() + ttl / 1000 if ttl > 0 else 0}
            record["value"] = cache_count(self.alias, key, record["value"]) + amount
            self._set(key, record)
            return int(record["value"])

    async def delete(self, key: str) -> bool:
        path = self._file(key)
        existed = await asyncio.to_thread(path.exists)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        return existed
