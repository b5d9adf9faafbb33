"""{{ Name }}: a CPU-bound task of the {{ app }} app, run off the event loop.

    result = await ctx.workers.run({{ Name }}, payload, timeout_ms=5_000)

In "process" mode payload and result cross a process boundary: keep them picklable.
"""

from __future__ import annotations

from typing import Any

from mega.plugins.jobs import Worker


class {{ Name }}(Worker):
    mode = "process"  # or "thread" for code that releases the GIL
    size = 2  # tasks running at once
    timeout_ms = 10_000  # per task; a process past it is killed and replaced

    def run(self, payload: Any) -> Any:
        return sum(i * i for i in range(int(payload)))
