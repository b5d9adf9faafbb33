"""Users: the list (filters, keyset pages), create, edit with an avatar, delete — page and API."""

from __future__ import annotations

import re

from apps.main.models.board import Board
from apps.main.models.user import User
from apps.main.models.wallet import Wallet
from apps.main.services.auth_service import AuthService
from tests.pages import errors_on, flash_on
from tests.test_avatars import PNG


async def _signed_in(browser, member):
    await browser.login(member["email"], member["password"])


async def _add_users(app, count):
    auth = AuthService(app.ctx())
    for i in range(count):
        await auth.register(
            email=f"user{i:02d}@example.com",
            name=f"Person {i:02d}",
            password=f"pass-word-{i:02d}",
            type_code=("member", "staff")[i % 2],
        )


async def test_the_api_pages_through_users_by_name_with_keyset_cursors(
    app, client, browser, member
):
    await _add_users(app, 12)
    await _signed_in(browser, member)
    names, after = [], None
    while True:
        params = {"limit": 5} | ({"after": after} if after else {})
        data = (await client.get("/api/users", params=params)).json()["data"]
        names += [u["name"] for u in data["items"]]
        assert "password_hash" not in str(data) and "avatar" not in data["items"][0]
        after = data["next"]
        if after is None:
            break
    assert names == sorted(names) and len(names) == 13  # 12 + the member, none twice


async def test_filters_narrow_the_list(app, client, browser, member):
    await _add_users(app, 6)
    await _signed_in(browser, member)
    staff = (await client.get("/api/users", params={"type_id": "2"})).json()["data"]["items"]
    assert sorted(u["name"] for u in staff) == ["Person 01", "Person 03", "Person 05"]
    found = (await client.get("/api/users", params={"q": "USER04"})).json()["data"]["items"]
    assert [u["email"] for u in found] == ["user04@example.com"]
    too_long = await client.get("/api/users", params={"q": "x" * 101})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"]["errors"][0]["field"] == "query.q"


async def test_the_list_page_shows_a_page_and_a_link_to_the_next(app, browser, member):
    await _add_users(app, 12)
    await _signed_in(browser, member)
    first = await browser.get("/users")
    assert len(re.findall("data-email=", first.text)) == 10
    next_link = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1)
    second = await browser.get(next_link.replace("&amp;", "&"))
    assert len(re.findall("data-email=", second.text)) == 3
    assert 'id="next-page"' not in second.text


async def test_an_admin_creates_edits_and_deletes_a_user_through_the_pages(app, browser, admin):
    await _signed_in(browser, admin)
    await browser.get("/users/new")
    page = await browser.submit(
        "/users",
        {
            "email": "new@example.com",
            "name": "New Person",
            "password": "fresh-start-9",
            "type_id": "1",
            "level_id": "2",
            "locale": "en",
        },
    )
    assert flash_on(page) == "User New Person created."
    db = app.ctx().db()
    [created] = await db.find(User, where={"email": "new@example.com"})
    assert created["level_id"] == 2
    assert await db.count(Wallet, where={"user_id": created["id"]}) == 1

    edit = await browser.get(f"/users/{created['id']}/edit")
    assert 'value="New Person"' in edit.text
    assert "Wallet: 0.00 USD" in edit.text
    page = await browser.submit(
        f"/users/{created['id']}",
        {
            "email": "new@example.com",
            "name": "Renamed",
            "password": "",
            "type_id": "3",
            "level_id": "3",
            "locale": "ko",
        },
        files={"avatar": ("me.png", PNG, "image/png")},
    )
    assert flash_on(page) == "User saved."
    updated = await db.get(User, created["id"])
    assert (updated["name"], updated["type_id"], updated["locale"]) == ("Renamed", 3, "ko")
    assert updated["password_hash"] == created["password_hash"]  # empty password: unchanged
    avatar = await browser.get(f"/users/{created['id']}/avatar")
    assert (avatar.content, avatar.headers["content-type"]) == (PNG, "image/png")

    page = await browser.submit(f"/users/{created['id']}/delete", {})
    assert flash_on(page) == "User deleted."
    assert await db.get(User, created["id"]) is None
    assert await db.count(Wallet, where={"user_id": created["id"]}) == 0  # cascaded


async def test_a_form_with_errors_comes_back_with_messages_and_what_was_typed(app, browser, admin):
    await _signed_in(browser, admin)
    await browser.get("/users/new")
    page = await browser.submit(
        "/users",
        {"email": "bad", "name": "Kept Name", "password": "pw", "type_id": "x", "level_id": "1"},
    )
    assert page.status_code == 422
    assert errors_on(page) == ["Enter a valid e-mail address.", "Enter a whole number."]
    assert 'value="Kept Name"' in page.text and 'value="bad"' in page.text
    assert '<option value="1" selected>' in page.text.replace("  ", " ") or "selected" in page.text
    assert await app.ctx().db().count(User) == 1  # the administrator alone


async def test_an_avatar_too_large_for_the_app_is_explained_on_the_form(app, browser, member):
    await _signed_in(browser, member)
    await browser.get(f"/users/{member['id']}/edit")
    big = PNG + b"\0" * (300 * 1024)
    page = await browser.submit(
        f"/users/{member['id']}",
        {
            "email": member["email"],
            "name": "Mina Park",
            "password": "",
            "type_id": "1",
            "level_id": "1",
            "locale": "en",
        },
        files={"avatar": ("big.png", big, "image/png")},
    )
    assert page.status_code == 422
    assert errors_on(page) == ["The avatar is too large: the limit is 256 KB."]
    assert (await app.ctx().db().get(User, member["id"]))["avatar"] is None


async def test_an_upload_over_the_servers_limit_is_refused_before_it_is_read(
    app, client, browser, member
):
    await _signed_in(browser, member)
    token = (await client.get("/api/session")).json()["data"]["csrf_token"]
    response = await client.post(
        f"/users/{member['id']}",
        data={"csrf_token": token, "name": "X"},
        files={"avatar": ("huge.png", b"\0" * (1024 * 1024 + 1), "image/png")},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request.too_large"
    assert "1048576" in error["message"]
    assert (await app.ctx().db().get(User, member["id"]))["name"] == "Mina Park"


async def test_the_api_creates_updates_and_deletes_with_the_same_handlers(
    app, client, browser, member, admin
):
    await _signed_in(browser, admin)
    headers = {"x-csrf-token": (await client.get("/api/session")).json()["data"]["csrf_token"]}
    created = await client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "api@example.com",
            "name": "Api",
            "password": "silver-moon-123",
            "type_id": 1,
            "level_id": 1,
        },
    )
    assert created.status_code == 201
    user_id = created.json()["data"]["id"]
    patched = await client.patch(f"/api/users/{user_id}", headers=headers, json={"name": "Api 2"})
    assert patched.status_code == 200
    shown = (await client.get(f"/api/users/{user_id}")).json()["data"]
    assert shown["user"]["name"] == "Api 2" and shown["wallet"]["balance"] == "0.00"
    taken = await client.patch(
        f"/api/users/{user_id}", headers=headers, json={"email": member["email"]}
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (422, "auth.email_taken")
    assert (await client.delete(f"/api/users/{user_id}", headers=headers)).status_code == 200
    missing = await client.get(f"/api/users/{user_id}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "users.not_found")


async def test_the_api_needs_a_signed_in_user(client):
    response = await client.get("/api/users")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "auth.required")


async def test_deleting_a_user_takes_their_boards_and_notes_along(app, member):
    from apps.main.services.access import SYSTEM
    from apps.main.services.boards_service import BoardsService
    from apps.main.services.users_service import UsersService

    await BoardsService(app.ctx()).create(member["id"], "Mine", None, "first")
    await UsersService(app.ctx()).delete(member["id"], actor=SYSTEM)
    assert await app.ctx().db().count(Board) == 0
