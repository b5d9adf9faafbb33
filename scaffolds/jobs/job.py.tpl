"""{{ Name }}: a durable job of the {{ app }} app.

Enqueue it from a handler, a schedule or another job:
    await ctx.jobs.enqueue({{ Name }}, {"id": 42}, msg_id="{{ snake }}-42")
and consume it with `mega worker`. Delivery is at least once: make run() idempotent.
"""

from __future__ import annotations

from typing import Any

from mega.plugins.jobs import Job, JobCtx


class {{ Name }}(Job):
    subject = "{{ app }}.{{ snake }}"
    concurrency = 1  # in flight at once across all workers
    retries = 3  # extra attempts after a failure, with exponential backoff; then the DLQ

    async def run(self, payload: dict[str, Any], ctx: JobCtx) -> dict[str, Any]:
        ctx.log.info("{{ snake }}.run", payload=payload)
        return {"job": "{{ Name }}", "received": payload}
