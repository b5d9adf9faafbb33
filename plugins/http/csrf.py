"""CSRF protection for every route that takes an unsafe method (POST/PUT/PATCH/DELETE).

Two checks, both needing no stored session:

* **Origin.** A browser says where a request comes from: ``Sec-Fetch-Site`` (every current
  browser) or, failing that, ``Origin``. A request another site sent is refused unless its origin
  is listed in ``[plugins.http.cors] allow_origins`` (the algorithm of Go 1.25's
  ``http.CrossOriginProtection``). Clients that send neither (curl, a server) pass this check.
* **Token (signed double-submit).** ``ctx.csrf_token`` is an HMAC, under the session secret, of a
  random value kept in its own cookie (``mega_csrf``, set when a token is first handed out). A
  request carrying one of our cookies or a form body (what another site's HTML form can send
  without a CORS preflight) must send the token back as ``X-CSRF-Token`` or a ``csrf_token``
  form field. So a login or sign-up form, posted before any session exists, is protected too,
  and rendering it stores nothing on the server. The value is renewed when the session rotates
  (at login), so a token known before login is useless after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from . import responses

#: where the request's CSRF state lives in the ASGI scope (set by the session middleware)
SCOPE_KEY = "mega.csrf"
#: bodies another site's <form> can send without a CORS preflight
FORM_LIKE = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
_SAME = frozenset({"same-origin", "none"})


class CsrfKeeper:
    """Signs and checks tokens; one per app (the session secret, the trusted origins)."""

    __slots__ = ("key", "trusted_origins")

    def __init__(self, secret: str, trusted_origins: tuple[str, ...] = ()) -> None:
        self.key = hashlib.sha256(b"mega.csrf|" + secret.encode()).digest()
        self.trusted_origins = frozenset(o.rstrip("/") for o in trusted_origins if o != "*")

    def sign(self, value: str) -> str:
        digest = hmac.new(self.key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, value: str, token: str) -> bool:
        return hmac.compare_digest(self.sign(value), token)


class CsrfState:
    """A request's CSRF cookie: the value it arrived with, or a new one handed out with it."""

    __slots__ = ("issued", "keeper", "value")

    def __init__(self, keeper: CsrfKeeper, value: str | None) -> None:
        self.keeper = keeper
        self.value = value if value else None
        #: True when this response must set the cookie (a new value)
        self.issued = False

    def token(self) -> str:
        """The token for forms and scripts; makes the cookie's value on first use."""
        if self.value is None:
            self.renew()
        assert self.value is not None
        return self.keeper.sign(self.value)

    def renew(self) -> None:
        self.value = secrets.token_urlsafe(32)
        self.issued = True


def cross_origin(request: Request, keeper: CsrfKeeper) -> str | None:
    """Why the browser says this request came from another site, or None."""
    headers = request.headers
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site is not None:
        if site in _SAME or (origin is not None and origin in keeper.trusted_origins):
            return None
        return f"Sec-Fetch-Site: {site}, Origin: {origin or '-'}"
    if origin is None:
        return None  # not a browser, or one too old to say: the token check still applies
    if urlsplit(origin).netloc == headers.get("host") or origin in keeper.trusted_origins:
        return None
    return f"Origin: {origin}, Host: {headers.get('host') or '-'}"


async def csrf_refusal(request: Request) -> Response | None:
    """403 for an unsafe request another site sent, or that lacks the CSRF token it needs."""
    scope = request.scope
    state: CsrfState | None = scope.get(SCOPE_KEY)
    if state is None:
        return None  # sessions are off: no cookie of ours to ride on
    why = cross_origin(request, state.keeper)
    if why is not None:
        return responses.fail(
            403,
            "csrf.cross_origin",
            f"this {request.method} came from another site ({why}); an origin of your own "
            "belongs in [plugins.http.cors] allow_origins",
            {"origin": request.headers.get("origin")},
        )
    content_type = request.headers.get("content-type", "")
    form = content_type.startswith(FORM_LIKE)
    if not (form or state.value is not None or scope.get("mega.session_cookie")):
        return None  # no cookie of ours, no form body: nothing a browser could forge
    sent = request.headers.get("x-csrf-token")
    if sent is None and content_type.startswith(FORM_LIKE[:2]):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if sent and state.value is not None and state.keeper.verify(state.value, sent):
        return None
    return responses.fail(
        403,
        "csrf.invalid",
        "this request needs its CSRF token (it carries a cookie of this site or a form body): "
        "send ctx.csrf_token as the X-CSRF-Token header or a csrf_token form field, from a "
        "page of this site",
    )
