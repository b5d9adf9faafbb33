"""{{ Name }}: a cron schedule of the {{ app }} app.

To run each fire on exactly one instance, give it a lock from [adapters.lock.<alias>]:
    lock = {"lock": "default", "ttl_ms": 30_000}
and guard shared writes with ctx.lock_token (a fencing token that only grows).
"""

from __future__ import annotations

from typing import Any

from mega.plugins.schedule import Schedule, ScheduleCtx


class {{ Name }}(Schedule):
    cron = "0 * * * *"  # every hour on the hour; 6 fields put seconds first
    timezone = "UTC"

    async def run(self, ctx: ScheduleCtx) -> dict[str, Any]:
        ctx.log.info("{{ snake }}.run")
        return {"schedule": "{{ Name }}", "fire_time": ctx.fire_time.isoformat()}
