"""The probes and the checks readiness runs."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from pydantic_core import to_json
from starlette.responses import Response

from mega.plugins.http import HttpCtx

if TYPE_CHECKING:
    from mega import App

Check = Callable[["App"], Any]


class Probes:
    """``app.extensions["health"]``: runs the checks."""

    def __init__(self, app: App, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s
        #: the plugins' checks (mega_health_checks), by name, collected at boot
        self.extra: dict[str, Callable[[], Any]] = {}

    def checks(self) -> dict[str, Callable[[], Awaitable[Any]]]:
        found: dict[str, Callable[[], Awaitable[Any]]] = {}
        for (kind, alias), adapter in self.app.adapters.items():
            probe = getattr(adapter, "health", None)
            found[f"{kind}.{alias}"] = probe if probe is not None else _connected
        for name, check in self.extra.items():

            async def added(check: Callable[[], Any] = check) -> Any:
                result = check()
                return await result if inspect.isawaitable(result) else result

            found[name] = added
        # deprecated: registry.contribute("health-check", name, check(app)) (one release)
        for name, entry in self.app.registry.contributions("health-check").items():
            contributed: Check = entry.value

            async def legacy(check: Check = contributed) -> Any:
                result = check(self.app)
                return await result if inspect.isawaitable(result) else result

            found[name] = legacy
        return found

    async def run(self) -> dict[str, dict[str, Any]]:
        """Every check, concurrently, each under the timeout: name -> status, duration."""
        checks = self.checks()
        results = await asyncio.gather(*(self._one(probe) for probe in checks.values()))
        return dict(zip(checks, results, strict=True))

    async def _one(self, probe: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                detail = await probe()
        except TimeoutError:
            outcome: dict[str, Any] = {
                "status": "fail",
                "error": f"no answer within {self.timeout_s * 1000:.0f} ms",
            }
        except Exception as exc:
            outcome = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"}
        else:
            outcome = {"status": "ok"}
            if detail not in (None, True):
                outcome["detail"] = detail
        outcome["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return outcome


class CheckResult(BaseModel):
    """One readiness check: ``ok`` or ``fail`` (with the error), and how long it took."""

    status: Literal["ok", "fail"]
    duration_ms: float
    error: str | None = None
    detail: Any = None


class LiveBody(BaseModel):
    """Liveness: the process answers; ``phase`` is the app's lifecycle phase."""

    status: Literal["ok"]
    phase: str


class StartupBody(BaseModel):
    """Startup: ``ok`` once every plugin booted (200), ``starting`` before (503)."""

    status: Literal["ok", "starting"]
    phase: str


class ReadyBody(BaseModel):
    """Readiness: ``ok`` (200) when running and every check passed, else ``fail`` (503) with
    the checks, or the reason (shutting down)."""

    status: Literal["ok", "fail"]
    phase: str
    checks: dict[str, CheckResult] | None = None
    reason: str | None = None


async def _connected() -> None:
    return None


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(
        to_json(body, indent=2),
        status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def live(ctx: HttpCtx) -> Response:
    """Liveness: the process answers."""
    return _json(200, {"status": "ok", "phase": ctx.app.phase})


async def startup(ctx: HttpCtx) -> Response:
    """Startup: every plugin booted."""
    booted = ctx.app.phase in ("running", "draining", "stopping")
    return _json(
        200 if booted else 503, {"status": "ok" if booted else "starting", "phase": ctx.app.phase}
    )


async def ready(ctx: HttpCtx) -> Response:
    """Readiness: running, not shutting down, and every check passes."""
    app = ctx.app
    if app.phase != "running":
        return _json(
            503,
            {
                "status": "fail",
                "phase": app.phase,
                "reason": "shutting down" if app.phase in ("draining", "stopping") else app.phase,
            },
        )
    results = await app.extensions["health"].run()
    ok = all(r["status"] == "ok" for r in results.values())
    return _json(
        200 if ok else 503,
        {"status": "ok" if ok else "fail", "phase": app.phase, "checks": results},
    )
