"""SendWelcome: the welcome e-mail, queued when a user registers.

"Sending" renders the message into the file outbox (``.mega/outbox/``, or ``CRUD_OUTBOX``), one
``.eml`` file per user written atomically — a real app would hand it to an SMTP relay here.
Delivery is at least once, so a redelivered job rewrites the same file instead of sending twice.
A failing send is retried 3 times with backoff, then goes to the dead-letter queue
(``mega jobs dlq list SendWelcome``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mega.plugins.http import translate
from mega.plugins.jobs import Job, JobCtx

from ..models.user import User


def outbox(ctx: JobCtx) -> Path:
    root = ctx.config.root or Path.cwd()
    return Path(os.environ.get("CRUD_OUTBOX") or root / ".mega" / "outbox")


class SendWelcome(Job):
    subject = "main.send_welcome"
    concurrency = 4
    retries = 3  # extra attempts after a failure, with exponential backoff; then the DLQ

    async def run(self, payload: dict[str, Any], ctx: JobCtx) -> dict[str, Any]:
        user = await ctx.db().get(User, int(payload["user_id"]))
        if user is None:  # the registration rolled back after queueing us, or was deleted
            return {"sent": False, "reason": "no such user"}
        ctx.log.info("welcome.sending", user_id=user["id"], delivery=ctx.delivery_count)
        # simulated SMTP latency (the demo's fault tests kill a worker mid-send)
        delay_ms = int(os.environ.get("CRUD_WELCOME_DELAY_MS") or 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        # the pages' catalogs (locales/server/*.json), in the user's language
        locale = user["locale"]
        values = {
            "name": user["name"],
            "email": user["email"],
            "url": "http://127.0.0.1:8000/login",
        }
        message = EmailMessage()
        message["To"] = user["email"]
        message["From"] = "crud <noreply@example.com>"
        message["Subject"] = translate(ctx.app, locale, "welcome.subject", **values)
        message.set_content(translate(ctx.app, locale, "welcome.body", **values))
        path = await asyncio.to_thread(self._write, outbox(ctx), user["id"], message.as_bytes())
        ctx.log.info("welcome.sent", user_id=user["id"], path=str(path))
        return {"sent": True, "path": str(path)}

    @staticmethod
    def _write(folder: Path, user_id: int, data: bytes) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"welcome-{user_id}.eml"
        # a temporary file of its own (two deliveries of one job may overlap), then renamed:
        # readers see the whole message or none
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        return path
