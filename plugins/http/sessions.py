"""Sessions: a signed cookie holding the data, or a signed cookie holding an id whose data lives
in a ``session`` adapter (memory embedded, redis distributed).

Both stores enforce an idle timeout (no request for that long) and an absolute one (since the
session began), and ``session.rotate()`` gives the session a new identity — call it on login so a
session id planted before login is worthless after (session fixation). A cookie that fails its
signature, or expired, starts a fresh empty session: never an error page.

Sessions are lazy: a request that writes nothing to its session stores nothing and sets no
cookie (an anonymous page view costs no store write; its CSRF token lives in its own cookie, see
csrf.py). Cookies are ``Secure`` on https requests — direct, or through a proxy that
``mega serve`` trusts ([plugins.http] trusted_proxies) — and on all with ``https_only``. A store
that fails (its server is down) answers 503 ``session.unavailable`` with Retry-After.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from mega import MegaError

from .csrf import SCOPE_KEY, CsrfKeeper, CsrfState
from .settings import SessionSettings

Scope = dict[str, Any]
#: with an idle timeout, a session that did not change is re-saved at most this often
TOUCH_EVERY_S = 60


class Session(MutableMapping[str, Any]):
    """The request's session: a dict, plus ``rotate()``, ``clear()`` and its timestamps."""

    def __init__(
        self, data: dict[str, Any], *, sid: str | None, created: float, seen: float
    ) -> None:
        self._data = data
        self.id = sid
        self.created = created
        self.seen = seen
        self.modified = False
        self.rotated = False
        self.rotated_from: str | None = None
        #: called by ``rotate()``: the middleware renews the CSRF value there, so a token
        #: handed out later in the same request (a sign-in's answer) is the new one
        self.on_rotate: Callable[[], None] | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()
        self.modified = True

    def rotate(self) -> None:
        """Give the session a new identity (and a new start), keeping its data."""
        self.rotated = True
        self.rotated_from = self.id
        self.id = _new_id()
        self.created = time.time()
        self.modified = True
        if self.on_rotate is not None:
            self.on_rotate()


def _new_id() -> str:
    return os.urandom(18).hex()


class SessionMiddleware:
    """Pure ASGI: loads the session into ``scope["session"]`` and the CSRF cookie into
    ``scope["mega.csrf"]``; saves both when the response starts."""

    def __init__(
        self,
        app: Any,
        settings: SessionSettings,
        store: Any,
        *,
        trusted_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.settings = settings
        self.store = store  # None: the data lives in the cookie
        assert settings.secret_key is not None
        self.signer = URLSafeSerializer(settings.secret_key, salt="mega.session")
        self.csrf = CsrfKeeper(settings.secret_key, trusted_origins)
        self.cookie = settings.cookie_name.encode()
        self.csrf_cookie = settings.csrf_cookie_name.encode()
        flags = f"path=/; httponly; samesite={settings.same_site}"
        always = settings.https_only or settings.same_site == "none"
        #: the cookie attributes for an http and for an https request
        self.flags = (flags + "; secure" if always else flags, flags + "; secure")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw, raw_csrf = _cookies(scope, self.cookie, self.csrf_cookie)
        session = await self._load(raw)
        csrf = CsrfState(self.csrf, raw_csrf)
        session.on_rotate = csrf.renew  # a token known before login must not work after it
        scope["session"] = session
        scope["mega.session_cookie"] = raw is not None
        scope[SCOPE_KEY] = csrf
        flags = self.flags[scope.get("scheme") in ("https", "wss")]

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                header = await self._save(session, had_cookie=raw is not None, flags=flags)
                cookies = [] if header is None else [(b"set-cookie", header)]
                if csrf.issued:
                    value = f"{self.settings.csrf_cookie_name}={csrf.value}"
                    age = self.settings.absolute_timeout_s
                    cookies.append((b"set-cookie", f"{value}; max-age={age}; {flags}".encode()))
                if cookies:
                    message["headers"] = [*message.get("headers", ()), *cookies]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _expired(self, created: float, seen: float, now: float) -> bool:
        s = self.settings
        return now - created > s.absolute_timeout_s or (
            s.idle_timeout_s > 0 and now - seen > s.idle_timeout_s
        )

    async def _load(self, raw: str | None) -> Session:
        now = time.time()
        fresh = Session({}, sid=_new_id() if self.store else None, created=now, seen=now)
        if raw is None:
            return fresh
        try:
            payload = self.signer.loads(raw)
        except BadSignature:
            return fresh
        if self.store is None:
            data, created, seen = payload.get("d"), payload.get("c"), payload.get("s")
            sid = None
        else:
            sid = payload
            record = await self._call("get", f"session:{sid}") if isinstance(sid, str) else None
            if not isinstance(record, dict):
                return fresh
            data, created, seen = record.get("d"), record.get("c"), record.get("s")
        if not (
            isinstance(data, dict)
            and isinstance(created, int | float)
            and isinstance(seen, int | float)
        ) or self._expired(created, seen, now):
            return fresh
        return Session(data, sid=sid, created=created, seen=seen)

    async def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """A store operation; a store that fails is a backend outage (503), not a bug (500)."""
        try:
            return await getattr(self.store, operation)(*args, **kwargs)
        except MegaError:
            raise
        except Exception as exc:
            raise MegaError(
                "session.unavailable",
                f"the session store [adapters.session.{self.settings.adapter}] failed on "
                f"{operation} ({type(exc).__name__}: {exc}); the request can be retried once "
                "it is back",
                {"adapter": self.settings.adapter, "error": repr(exc)},
                http_status=503,
            ) from exc

    async def _save(self, session: Session, *, had_cookie: bool, flags: str) -> bytes | None:
        now = time.time()
        touch = self.settings.idle_timeout_s > 0 and now - session.seen > TOUCH_EVERY_S
        if not (session.modified or touch):
            return None
        if not session and not had_cookie:
            return None  # nothing to keep, nothing to clear
        session.seen = now
        record = {"d": dict(session), "c": session.created, "s": now}
        max_age = math.ceil(self.settings.absolute_timeout_s - (now - session.created))
        if self.store is None:
            value = self.signer.dumps(record)
        else:
            if session.rotated_from:
                await self._call("delete", f"session:{session.rotated_from}")
            ttl = (
                max_age
                if self.settings.idle_timeout_s <= 0
                else min(max_age, self.settings.idle_timeout_s)
            )
            await self._call("set", f"session:{session.id}", record, ttl_ms=max(ttl, 1) * 1000)
            value = self.signer.dumps(session.id)
        return f"{self.settings.cookie_name}={value}; max-age={max(max_age, 0)}; {flags}".encode()


def _cookies(scope: Scope, name: bytes, other: bytes) -> tuple[str | None, str | None]:
    """The values of cookies ``name`` and ``other`` (None: absent), in one pass."""
    found: list[str | None] = [None, None]
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.split(b";"):
                k, _, v = part.strip().partition(b"=")
                if k == name:
                    found[0] = v.decode("latin-1")
                elif k == other:
                    found[1] = v.decode("latin-1")
    return found[0], found[1]
