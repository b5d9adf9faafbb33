"""CSRF on forms that precede a session (login, sign-up), checked by Origin / Sec-Fetch-Site
and a signed double-submit token that stores nothing on the server."""

from __future__ import annotations

import re

CONTROLLER = """
from pydantic import BaseModel

from mega.plugins.http import HttpCtx


class Credentials(BaseModel):
    email: str


class Auth:
    async def form(self, ctx: HttpCtx):
        return ctx.render("login.html")

    async def login(self, ctx: HttpCtx, body: Credentials) -> str:
        ctx.session.rotate()
        ctx.session["user"] = body.email
        return body.email

    async def api(self, ctx: HttpCtx, body: Credentials) -> str:
        return body.email

    async def token(self, ctx: HttpCtx) -> str:
        return ctx.csrf_token

    async def login_api(self, ctx: HttpCtx, body: Credentials) -> dict:
        ctx.session.rotate()
        ctx.session["user"] = body.email
        return {"user": body.email, "csrf_token": ctx.csrf_token}
"""
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.auth import Auth

routes = [get("/login", Auth.form, name="login_form"),
          post("/login", Auth.login, name="login"),
          post("/api/echo", Auth.api, name="echo"),
          get("/token", Auth.token, name="token"),
          post("/api/login", Auth.login_api, name="login_api")]
"""
VIEW = '<form method="post">{{ csrf_field() }}<input name="email"></form>'
FILES = {
    "apps/main/controllers/auth.py": CONTROLLER,
    "apps/main/routes/r.py": ROUTES,
    "apps/main/views/login.html": VIEW,
}
SESSION = {"session": {"secret_key": "s" * 40}}
FORM = {"email": "ada@example.com"}


def form_token(page) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_a_login_form_posted_with_no_cookie_and_no_token_is_refused(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        forged = await client.post("/login", data=FORM)  # what another site's form sends
        # before: 200, and the victim's browser signed in to the attacker's account
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "csrf.invalid"
        assert "mega_session" not in forged.headers.get("set-cookie", "")


async def test_the_login_page_hands_out_a_token_that_its_form_posts_back(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        page = await client.get("/login")
        assert "mega_csrf=" in page.headers["set-cookie"]
        assert "mega_session" not in page.headers["set-cookie"]  # nothing stored to render it
        signed_in = await client.post("/login", data={**FORM, "csrf_token": form_token(page)})
        assert signed_in.status_code == 200 and signed_in.json()["data"] == FORM["email"]
        assert client.cookies.get("mega_session")


async def test_a_token_from_another_browser_does_not_fit_this_ones_cookie(http_project):
    async with http_project(FILES, SESSION) as (_, attacker):
        attackers_token = form_token(await attacker.get("/login"))
    async with http_project(FILES, SESSION) as (_, victim):
        await victim.get("/login")  # the victim has a cookie of its own
        refused = await victim.post("/login", data={**FORM, "csrf_token": attackers_token})
        assert refused.status_code == 403
        victim.cookies.clear()  # and none at all
        refused = await victim.post("/login", data={**FORM, "csrf_token": attackers_token})
        assert refused.status_code == 403


async def test_a_post_another_site_sent_is_refused_even_with_a_valid_token(http_project):
    cors = {**SESSION, "cors": {"allow_origins": ["https://app.example.com"]}}
    async with http_project(FILES, cors) as (_, client):
        data = {**FORM, "csrf_token": form_token(await client.get("/login"))}
        cross = await client.post("/login", data=data, headers={"sec-fetch-site": "cross-site"})
        assert (cross.status_code, cross.json()["error"]["code"]) == (403, "csrf.cross_origin")
        sibling = await client.post("/login", data=data, headers={"sec-fetch-site": "same-site"})
        assert sibling.status_code == 403
        other = await client.post("/login", data=data, headers={"origin": "https://evil.example"})
        assert other.status_code == 403
        # JSON from another site, without cookies: refused by its Origin too
        client.cookies.clear()
        api = await client.post("/api/echo", json=FORM, headers={"origin": "https://evil.example"})
        assert api.status_code == 403


async def test_same_origin_and_listed_origins_pass(http_project):
    cors = {**SESSION, "cors": {"allow_origins": ["https://app.example.com"]}}
    async with http_project(FILES, cors) as (_, client):
        data = {**FORM, "csrf_token": form_token(await client.get("/login"))}
        same = {"sec-fetch-site": "same-origin", "origin": "http://testserver"}
        assert (await client.post("/login", data=data, headers=same)).status_code == 200
        data["csrf_token"] = form_token(await client.get("/login"))
        origin_only = {"origin": "http://testserver"}  # a browser without Sec-Fetch-Site
        assert (await client.post("/login", data=data, headers=origin_only)).status_code == 200
        data["csrf_token"] = form_token(await client.get("/login"))
        listed = {"sec-fetch-site": "cross-site", "origin": "https://app.example.com"}
        assert (await client.post("/login", data=data, headers=listed)).status_code == 200


async def test_a_json_api_call_with_no_cookie_needs_no_token(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        answer = await client.post("/api/echo", json=FORM)
        assert answer.status_code == 200
        # a cookie of ours makes it a browser's request: the token is needed
        await client.get("/login")
        assert (await client.post("/api/echo", json=FORM)).status_code == 403
        token = {"x-csrf-token": (await client.get("/token")).json()["data"]}
        assert (await client.post("/api/echo", json=FORM, headers=token)).status_code == 200


async def test_signing_in_renews_the_token(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        before = form_token(await client.get("/login"))
        signed_in = await client.post("/login", data={**FORM, "csrf_token": before})
        assert "mega_csrf=" in signed_in.headers["set-cookie"]  # a new value with the login
        stale = await client.post("/api/echo", json=FORM, headers={"x-csrf-token": before})
        assert stale.status_code == 403
        after = (await client.get("/token")).json()["data"]
        assert after != before
        fresh = await client.post("/api/echo", json=FORM, headers={"x-csrf-token": after})
        assert fresh.status_code == 200


async def test_the_token_a_sign_in_answers_with_works_after_it(http_project):
    async with http_project(FILES, SESSION) as (_, client):
        before = (await client.get("/token")).json()["data"]
        signed_in = await client.post("/api/login", json=FORM, headers={"x-csrf-token": before})
        assert signed_in.status_code == 200, signed_in.text
        after = signed_in.json()["data"]["csrf_token"]
        assert after != before  # rotated with the session
        echoed = await client.post("/api/echo", json=FORM, headers={"x-csrf-token": after})
        assert echoed.status_code == 200, echoed.text
        stale = await client.post("/api/echo", json=FORM, headers={"x-csrf-token": before})
        assert stale.status_code == 403
