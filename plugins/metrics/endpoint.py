"""``GET /metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from mega.plugins.http import HttpCtx

from .exposition import encode, negotiate

if TYPE_CHECKING:
    from . import Metrics


async def scrape_endpoint(ctx: HttpCtx) -> Response:
    """The app's metrics: OpenMetrics when the scraper asks for it, else Prometheus text; only
    to the networks and token [plugins.metrics] allows (see exposure.py)."""
    metrics: Metrics = ctx.app.extensions["metrics"]
    refused = metrics.guard.refusal(ctx)
    if refused is not None:
        return refused
    headers = ctx.request.headers
    openmetrics, content_type = negotiate(headers.get("accept", ""))
    text = await metrics.scrape(openmetrics=openmetrics)
    body, extra = encode(text, headers.get("accept-encoding", ""))
    return Response(body, media_type=content_type, headers={**extra, "vary": "accept-encoding"})
