"""``HttpCtx``: the ``ctx`` a handler receives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import HTMLResponse

from mega import Ctx, MegaConfigError

from .csrf import SCOPE_KEY, CsrfState

if TYPE_CHECKING:
    from mega import App

    from .sessions import Session


class HttpCtx(Ctx):
    """``Ctx`` plus the request: ``ctx.request``, ``ctx.request_id``, ``ctx.session``;
    set ``ctx.status`` (e.g. 201) and ``ctx.headers`` for the enveloped response."""

    __slots__ = ("_locale", "headers", "request", "request_id", "status")

    def __init__(self, app: App, request: Request, request_id: str) -> None:
        self.app = app
        self.request = request
        self.request_id = request_id
        self.status = 200
        self.headers: dict[str, str] | None = None
        self._locale: str | None = None

    @property
    def log(self) -> Any:
        """The app logger bound with this request's id (made on first use)."""
        return self.app.log.bind(request_id=self.request_id)

    @property
    def session(self) -> Session:
        """The session (``[plugins.http.session] secret_key`` turns it on): a mapping, plus
        ``rotate()`` for a new session id (at sign-in: a planted id becomes worthless)."""
        if "session" not in self.request.scope:
            raise MegaConfigError(
                "http.session_off",
                "sessions are off: set [plugins.http.session] secret_key (32+ characters, "
                "keep it in .env as MEGA__PLUGINS__HTTP__SESSION__SECRET_KEY)",
            )
        # the session middleware puts a Session there; starlette types it as a plain dict
        return cast("Session", self.request.session)

    @property
    def locale(self) -> str:
        """The request's language: the locale cookie, else Accept-Language, else the default."""
        if self._locale is None:
            i18n = self.app.extensions["http"].translations
            self._locale = i18n.negotiate(
                self.request.cookies.get(i18n.cookie), self.request.headers.get("accept-language")
            )
        return self._locale

    def t(self, key: str, **variables: Any) -> str:
        """Translate ``key`` into the request's language; ``{name}`` placeholders are filled
        from ``variables``. Missing everywhere: ``[missing: key]``."""
        return str(self.app.extensions["http"].translations.translate(self.locale, key, variables))

    def render(self, template: str, status: int = 200, **variables: Any) -> HTMLResponse:
        """Render ``apps/*/views/<template>`` into an HTML response."""
        html = self.app.extensions["http"].views.render(self, template, variables)
        return HTMLResponse(html, status, self.headers)

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route called ``name`` with its parameters filled in."""
        return str(self.app.extensions["http"].views.url_for(name, **params))

    @property
    def csrf_token(self) -> str:
        """The CSRF token; forms send it as ``csrf_token``, scripts as the ``X-CSRF-Token``
        header, on every POST/PUT/PATCH/DELETE. Handing it out stores no session: it is
        signed from its own cookie (see ``[plugins.http.session] csrf``)."""
        self.session  # noqa: B018 - sessions off: raises http.session_off, saying what to do
        state: CsrfState = self.request.scope[SCOPE_KEY]
        return state.token()
