"""{{ Name }}Service: business logic of the {{ app }} app, independent of HTTP or jobs."""

from __future__ import annotations

from typing import Any

from mega import Ctx


class {{ Name }}Service:
    """Use it from a controller, job or schedule: ``{{ Name }}Service(ctx)``."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.log = ctx.log.bind(service="{{ snake }}")

    async def describe(self) -> dict[str, Any]:
        """Replace with the service's own operations."""
        self.log.debug("{{ snake }}.describe")
        return {"service": "{{ name }}", "app": self.ctx.config.app.name}
