"""A session is stored only when something is written to it: anonymous page views (a login
form with its CSRF field included) store nothing and set no session cookie."""

from __future__ import annotations

from pathlib import Path

CONTROLLER = """
from mega.plugins.http import HttpCtx


class Pages:
    async def login(self, ctx: HttpCtx):
        ctx.session.get("user")  # read, as a layout showing who is signed in does
        return ctx.render("login.html")

    async def remember(self, ctx: HttpCtx) -> int:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        return ctx.session["n"]
"""
ROUTES = """
from mega.plugins.http import get, post
from apps.main.controllers.pages import Pages

routes = [get("/login", Pages.login, name="login"),
          post("/remember", Pages.remember, name="remember", csrf=False)]
"""
FILES = {
    "apps/main/controllers/pages.py": CONTROLLER,
    "apps/main/routes/r.py": ROUTES,
    "apps/main/views/login.html": '<form method="post">{{ csrf_field() }}</form>',
}


async def test_anonymous_page_views_store_no_session(http_project, tmp_path: Path):
    store = tmp_path / "sessions"
    settings = {"session": {"secret_key": "s" * 40, "store": "server"}}
    adapters = {"session": {"default": {"driver": "file", "path": str(store)}}}
    async with http_project(FILES, settings, plugins=("http", "file"), adapters=adapters) as (
        _,
        client,
    ):
        for _ in range(50):
            client.cookies.clear()  # fifty different visitors
            page = await client.get("/login")
            assert page.status_code == 200
            assert "mega_session" not in page.headers.get("set-cookie", "")
        # before: one stored session per view (the CSRF token was written into it)
        assert list(store.glob("*.json")) == []
        assert (await client.post("/remember")).json()["data"] == 1
        assert len(list(store.glob("*.json"))) == 1  # written to: stored
        assert (await client.post("/remember")).json()["data"] == 2
        assert len(list(store.glob("*.json"))) == 1
