"""A local server speaking the Bot API's ``sendMessage`` (the real API is unreachable here)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

TOKEN = "123456:AAH-secret-token-never-logged"


@dataclass
class BotApi:
    """Records each sendMessage; answers from ``replies`` first (status, body), then 200."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    delay_s: float = 0.0
    url: str = ""

    @property
    def texts(self) -> list[str]:
        return [r["text"] for r in self.requests]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                _method, path, _ = line.decode().split(" ", 2)
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length)) if length else {}
                await asyncio.sleep(self.delay_s)
                self.paths.append(path)
                self.times.append(asyncio.get_running_loop().time())
                if not path.endswith("/sendMessage"):
                    status, reply = (
                        404,
                        {"ok": False, "error_code": 404, "description": "Not Found"},
                    )
                elif path != f"/bot{TOKEN}/sendMessage":
                    status, reply = (
                        401,
                        {"ok": False, "error_code": 401, "description": "Unauthorized"},
                    )
                elif self.replies:
                    status, reply = self.replies.pop(0)
                else:
                    status = 200
                    reply = {"ok": True, "result": {"message_id": len(self.requests) + 1}}
                if status == 200:
                    self.requests.append(body)
                data = json.dumps(reply).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is closing
        finally:
            writer.close()


@pytest.fixture
async def bot_api():
    api = BotApi()
    server = await asyncio.start_server(api.handle, "127.0.0.1", 0)
    api.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield api
        server.close()


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def sink_config(bot_api: BotApi):
    """``sink_config(**options)``: an app config with one telegram sink aimed at ``bot_api``."""

    def build(**options: Any) -> dict[str, Any]:
        table = {
            "driver": "telegram",
            "token": TOKEN,
            "chat_id": -100123,
            "base_url": bot_api.url,
            "batch_ms": 20,
            **options,
        }
        return {"app": {"plugins": ["telegram"]}, "adapters": {"log-sink": {"chat": table}}}

    return build
