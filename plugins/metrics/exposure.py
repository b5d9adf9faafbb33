"""Who may scrape ``/metrics``: an allow-list of networks and an optional bearer token.

Metrics name routes, job kinds, pool sizes, versions and error rates: useful to an attacker
mapping the service. The default lets the machine itself and private networks (where Prometheus
runs) scrape and nobody else; ``bearer_token`` adds a secret on top. A scrape arriving through a
proxy ``mega serve`` does not trust (``X-Forwarded-For`` / ``Forwarded`` present while
``[plugins.http] trusted_proxies`` is empty) is refused: its peer address is the proxy's, so the
allow-list cannot tell where it came from.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from mega.plugins.http import HttpCtx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: loopback and the private ranges (RFC 1918, RFC 4193 unique local)
PRIVATE_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


class ScrapeGuard:
    """Checks a scrape request; built once at boot from the settings."""

    __slots__ = ("networks", "see_through_proxies", "token")

    def __init__(
        self, networks: Iterable[str], token: str | None, *, see_through_proxies: bool
    ) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks
        )
        self.token = f"Bearer {token}".encode() if token else None
        self.see_through_proxies = see_through_proxies

    def refusal(self, ctx: HttpCtx) -> Response | None:
        """None when the scrape may proceed, else the 403/401 answer."""
        request = ctx.request
        host = request.client.host if request.client else ""
        if not self.see_through_proxies and (
            "x-forwarded-for" in request.headers or "forwarded" in request.headers
        ):
            return fail(
                403,
                "metrics.forbidden",
                "/metrics was reached through a proxy mega serve does not trust, so the "
                "scraper's address is unknown: list the proxy in [plugins.http] "
                "trusted_proxies, or scrape the server directly",
            )
        if not self._allowed(host):
            return fail(
                403,
                "metrics.forbidden",
                f"/metrics is not open to {host or 'this client'}: add its network to "
                "[plugins.metrics] allow_networks",
                {"client": host},
            )
        if self.token is not None:
            sent = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(sent, self.token):
                return fail(
                    401,
                    "metrics.unauthorized",
                    "/metrics needs the bearer token of [plugins.metrics] bearer_token "
                    "(Authorization: Bearer <token>)",
                    headers={"www-authenticate": 'Bearer realm="metrics"'},
                )
        return None

    def _allowed(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # not an IP (a Unix socket, a test client's name): never assumed safe
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def fail(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The http plugin's error envelope (its public API has no builder for one)."""
    error = {"code": code, "message": message, "details": details or {}}
    body = json.dumps({"ok": False, "error": error})
    return Response(body, status, headers, "application/json")
