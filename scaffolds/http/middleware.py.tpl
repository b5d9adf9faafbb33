"""{{ Name }}: middleware run around routes.

Use it on one route (``get(..., middleware=[{{ Name }}])``) or on every route
(``[plugins.http] middleware = ["apps.{{ app }}.middleware.{{ snake }}:{{ Name }}"]``). Each phase is
optional and may be sync or async: ``before`` may return a Response to answer instead of the
handler, ``after`` may return one to replace the response, ``error`` may return one to handle
an exception.
"""

from __future__ import annotations

import time
from typing import Any


class {{ Name }}:
    header = "x-{{ name }}-ms"

    def before(self, ctx: Any) -> None:
        ctx.request.scope.setdefault("state", {})["{{ snake }}_started"] = time.perf_counter()

    def after(self, ctx: Any, response: Any) -> None:
        started = ctx.request.scope["state"].get("{{ snake }}_started")
        if started is not None:
            response.headers[self.header] = f"{(time.perf_counter() - started) * 1000:.2f}"
