"""The ``[plugins.http]`` table."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mega import PluginConfig


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecurityHeaders(_Table):
    """``[plugins.http.security_headers]``: sent on every response (empty string: not sent)."""

    content_security_policy: str = (
        "default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'self'"
    )
    x_content_type_options: str = "nosniff"
    referrer_policy: str = "strict-origin-when-cross-origin"
    x_frame_options: str = "SAMEORIGIN"
    #: Strict-Transport-Security max-age, sent only on https requests; 0 = never
    hsts_max_age_s: int = Field(default=31_536_000, ge=0)
    #: JSON responses get only the headers that protect an API response (nosniff, HSTS): CSP,
    #: Referrer-Policy and X-Frame-Options govern how a browser renders a *document*, and each
    #: extra header costs the server ~0.5 µs to validate and write (bench/http.py). Set false to
    #: send every header on every response.
    document_headers_on_json: bool = False


class CorsSettings(_Table):
    """``[plugins.http.cors]``: off unless origins are listed."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_s: int = Field(default=600, ge=0)


class SessionSettings(_Table):
    """``[plugins.http.session]``: sessions are off unless a secret is set."""

    #: the signing key; keep it in .env (MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY)
    secret_key: str | None = Field(default=None, min_length=32)
    #: "cookie": the data lives in the signed cookie (keep it small, < 4 kB); "server": the
    #: cookie holds an id and the data lives in [adapters.session.<adapter>]
    store: Literal["cookie", "server"] = "cookie"
    adapter: str = "default"
    cookie_name: str = "mega_session"
    #: a session unused for this long ends; 0 = no idle timeout
    idle_timeout_s: int = Field(default=2 * 3600, ge=0)
    #: a session ends this long after it began (or was rotated), used or not
    absolute_timeout_s: int = Field(default=14 * 24 * 3600, gt=0)
    same_site: Literal["lax", "strict", "none"] = "lax"
    #: mark the cookies Secure on every response; without it they are Secure on https requests
    #: (direct, or through a proxy in [plugins.http] trusted_proxies)
    https_only: bool = False
    #: check unsafe requests (POST/PUT/PATCH/DELETE) a browser could send from another site:
    #: the Origin / Sec-Fetch-Site headers, and a CSRF token when the request carries a cookie
    #: of ours or a form body (a login form posted before any session exists included)
    csrf: bool = True
    #: the cookie holding the CSRF secret (signed double-submit: no stored session needed)
    csrf_cookie_name: str = "mega_csrf"


class I18nSettings(_Table):
    """``[plugins.http.i18n]``: server-side translations from ``apps/*/locales/server/``."""

    default_locale: str = "en"
    #: a cookie naming the user's choice wins over Accept-Language
    cookie_name: str = "locale"


class HttpSettings(PluginConfig):
    """The ``[plugins.http]`` table."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: requests with a larger body get 413 before the handler runs
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    #: the body limit for multipart/form-data uploads (files are spooled to disk)
    max_upload_bytes: int = Field(default=10 * 1_048_576, gt=0)
    max_upload_files: int = Field(default=10, ge=0)
    max_form_fields: int = Field(default=100, ge=0)
    #: URL prefix -> folder (relative to the project root) served as static files when it exists
    static: dict[str, str] = Field(default_factory=lambda: {"/static": "static"})
    #: Cache-Control max-age for static files (they also get ETag/Last-Modified)
    static_max_age_s: int = Field(default=3600, ge=0)
    #: Host header values accepted (``*.example.com`` allowed); ``["*"]`` accepts any
    trusted_hosts: tuple[str, ...] = ("*",)
    #: proxies (addresses or networks, "10.0.0.0/8") whose X-Forwarded-For / -Proto headers
    #: `mega serve` believes; empty: none, the client is the peer address, whatever it sends
    trusted_proxies: tuple[str, ...] = ()
    #: the request line plus headers, in bytes; larger: 431 before more of it is buffered
    max_header_bytes: int = Field(default=65_536, ge=1_024)
    #: header lines per request; more: 431
    max_headers: int = Field(default=100, ge=1)
    #: Retry-After (seconds) on a 429 or 503 that names no wait of its own
    retry_after_s: int = Field(default=5, ge=0)
    #: an incoming request id header is kept when it looks like one; else one is made
    request_id_header: str = "x-request-id"
    #: serve /openapi.json and the docs page at docs_path ("" turns the page off)
    openapi: bool = True
    docs_path: str = "/docs"
    #: the page at docs_path: "swagger" (Swagger UI with "Try it out", from the ``docs`` extra;
    #: the table when that is not installed) or "table" (the operations, no scripts)
    docs_ui: Literal["swagger", "table"] = "swagger"
    #: "module:attribute" of middleware run around every route, in order
    middleware: tuple[str, ...] = ()
    #: a template (``apps/*/views/<error_page>``) rendered instead of the JSON error envelope
    #: for requests that accept text/html (a browser's page or form), for every 4xx/5xx the
    #: framework answers (CSRF, 404, 405, 413, 500...); None: always the envelope
    error_page: str | None = None
    security_headers: SecurityHeaders = SecurityHeaders()
    cors: CorsSettings = CorsSettings()
    session: SessionSettings = SessionSettings()
    i18n: I18nSettings = I18nSettings()
