"""The /{{ name }} route of the {{ app }} app."""

from __future__ import annotations

from typing import Any

from mega.plugins.http import HttpCtx, get


async def {{ snake }}(ctx: HttpCtx) -> dict[str, Any]:
    """{{ Name }}."""
    return {"route": "{{ name }}", "request_id": ctx.request_id}


routes = [get("/{{ name }}", {{ snake }}, name="{{ name }}")]
