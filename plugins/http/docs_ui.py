"""The page at ``[plugins.http] docs_path``: Swagger UI, where "Try it out" sends real requests,
or a plain table of the operations.

Swagger UI's files come from the swagger-ui-py distribution (the ``docs`` extra), served from
where pip installed them, never from a CDN: the page works offline. swagger-ui-py carries
Swagger UI 5, the first line that renders an OpenAPI 3.1 document (swagger-ui-bundle 1.1.0
carries 4.15.5, which refuses ours). Without it, ``docs_ui = "swagger"`` falls back to the table.

The page runs under a Content-Security-Policy of its own, sent with the app's (a browser enforces
both): scripts, styles and requests from this origin only, no inline code. Its configuration
travels in ``data-`` attributes read by ``static/docs/docs.js``. For an unsafe request to this
origin, that script fetches the CSRF token from ``<docs_path>/csrf-token`` and sends it as
``X-CSRF-Token``, so operations guarded by the session and CSRF work from the page — with the
visitor's own cookies, which grants nothing a page of the app could not do.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as StarletteRoute

from mega import get_logger

from . import responses
from .csrf import SCOPE_KEY, CsrfState
from .handlers import Compiled
from .openapi import _summary

if TYPE_CHECKING:
    from mega import App

    from .settings import HttpSettings

#: what the page loads from the swagger-ui-py distribution; nothing else of it is served
SWAGGER_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
#: the page's own files, in this package
OWN_FOLDER = Path(__file__).parent / "static" / "docs"
OWN_FILES = frozenset(p.name for p in OWN_FOLDER.iterdir() if p.suffix in {".js", ".css", ".svg"})
#: asset URLs name their version, so a browser may keep them for good
IMMUTABLE = "public, max-age=31536000, immutable"
#: the page's own policy, sent besides the app's: only this origin's files and requests, no
#: inline code (docs.css draws from files the icons Swagger UI's stylesheet has as data: URLs)
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
TABLE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def swagger_ui() -> tuple[Path, str] | None:
    """Where the installed swagger-ui-py keeps Swagger UI, and its version; None when it is not
    installed. Finding its folder does not import it (its ``__init__`` loads web frameworks'
    handlers we never use)."""
    try:
        spec = importlib.util.find_spec("swagger_ui")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not all((folder / name).is_file() for name in SWAGGER_FILES):
        return None
    try:
        version = importlib.metadata.version("swagger-ui-py")
    except importlib.metadata.PackageNotFoundError:
        return None
    return folder, version


def table(compiled: Iterable[Compiled]) -> str:
    """The operations as an HTML table (the fallback page, and the page without scripts)."""
    rows = "".join(
        f"<tr><td><code>{c.route.method}</code></td><td><code>{html.escape(c.route.path)}"
        f"</code></td><td>{html.escape(c.route.name)}</td>"
        f"<td>{html.escape(_summary(c.route.handler))}</td></tr>"
        for c in compiled
    )
    return (
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1)</p>"
        "<table><tr><th>method</th><th>path</th><th>name</th><th>summary</th></tr>"
        f"{rows}</table>"
    )


def docs_routes(app: App, settings: HttpSettings, holder: dict[str, Any]) -> list[StarletteRoute]:
    """The docs page at ``docs_path`` and, with Swagger UI, its assets and CSRF token route;
    ``holder["compiled"]`` is filled after the build."""
    base = settings.docs_path.rstrip("/")
    title = html.escape(f"{app.config.app.name} API")
    found = swagger_ui() if settings.docs_ui == "swagger" else None
    if found is None:
        if settings.docs_ui == "swagger":
            get_logger(plugin="http").info(
                "http.docs_ui_unavailable",
                message="Swagger UI is not installed (pip install 'mega-framework[docs]'); "
                f"{settings.docs_path} lists the operations as a table",
            )

        def table_page() -> str:
            return (
                f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}"
                f"</title></head><body><h1>{title}</h1>{table(holder['compiled'])}</body></html>"
            )

        return [_page(settings.docs_path, table_page, TABLE_CSP)]
    folder, version = found
    swagger = f"{base}/assets/swagger-ui-{version}"
    own = f"{base}/assets/mega-{_digest(OWN_FOLDER, OWN_FILES)}"
    csrf = bool(settings.session.secret_key) and settings.session.csrf
    token_url = f"{base}/csrf-token" if csrf else ""

    def swagger_page() -> str:
        sw, mine, token = html.escape(swagger), html.escape(own), html.escape(token_url)
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title>"
            f"<link rel='icon' type='image/png' href='{sw}/favicon-32x32.png'>"
            f"<link rel='stylesheet' href='{sw}/swagger-ui.css'>"
            f"<link rel='stylesheet' href='{mine}/docs.css'>"
            f"<script src='{sw}/swagger-ui-bundle.js' defer></script>"
            f"<script src='{mine}/docs.js' defer></script></head><body>"
            f"<div id='swagger-ui' data-openapi='/openapi.json' data-csrf-token='{token}'>"
            f"</div><noscript><h1>{title}</h1>{table(holder['compiled'])}</noscript>"
            "</body></html>"
        )

    routes = [
        _page(settings.docs_path, swagger_page, PAGE_CSP),
        _assets(swagger, folder, SWAGGER_FILES),
        _assets(own, OWN_FOLDER, OWN_FILES),
    ]
    if csrf:
        routes.append(StarletteRoute(token_url, _csrf_token, methods=["GET"], name="docs.csrf"))
    return routes


def _page(path: str, render: Callable[[], str], policy: str) -> StarletteRoute:
    """The page, rendered on first request (the routes are compiled after this is built)."""
    cache: list[Response] = []

    async def page(request: Request) -> Response:
        if not cache:
            cache.append(HTMLResponse(render(), headers={"content-security-policy": policy}))
        return cache[0]

    return StarletteRoute(path, page, methods=["GET"], name="docs")


def _assets(prefix: str, folder: Path, names: frozenset[str]) -> StarletteRoute:
    """``<prefix>/<name>`` for the listed files of ``folder``: ETag, Last-Modified and 304s from
    the static files code, kept by browsers for good (the prefix names the version)."""
    from .application import CachedStaticFiles

    files = CachedStaticFiles(str(folder), max_age=0)
    files.cache_control = IMMUTABLE

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in names:
            return responses.fail(
                404, "http.not_found", f"no route matches {request.url.path}", {"path": name}
            )
        return await files.get_response(name, request.scope)

    return StarletteRoute(f"{prefix}/{{name}}", asset, methods=["GET"], name=f"docs:{prefix}")


async def _csrf_token(request: Request) -> Response:
    """The CSRF token for the page's script (the cookie it is signed from is HttpOnly)."""
    state: CsrfState | None = request.scope.get(SCOPE_KEY)
    token = None if state is None else state.token()
    return responses.ok({"csrf_token": token}, headers={"cache-control": "no-store"})


def _digest(folder: Path, names: Iterable[str]) -> str:
    """A short hash of the files' contents: their URL changes whenever one of them does."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()[:12]
