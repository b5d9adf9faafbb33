"""The home route of {{ name }}: edit it, or add more with `mega g controller <name>`."""

from __future__ import annotations

from typing import Any

from mega.plugins.http import HttpCtx, get


async def home(ctx: HttpCtx) -> dict[str, Any]:
    """Welcome."""
    return {"app": "{{ name }}", "message": "It works: edit apps/main/routes/home.py",
            "docs": "/docs"}


routes = [get("/", home, name="home")]
