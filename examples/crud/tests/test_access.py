"""Who may do what, route by route: every users and boards page (form POST) and API call, tried
as an anonymous visitor, as another member, as the owner and as an administrator.

The rules (README, "Who may do what"): administrators manage every user, their type and level;
a member sees the list and edits only their own name, e-mail, password, avatar and language;
only administrators create and delete users, never their own account or type; boards are
shared, and only a board's owner deletes it.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from apps.main.models.board import Board
from apps.main.models.note import Note
from apps.main.models.user import User
from apps.main.models.wallet import Wallet
from apps.main.services.auth_service import AuthService
from apps.main.services.boards_service import BoardsService

from mega.testing import http_client

CATALOGS = Path(__file__).resolve().parents[1] / "apps" / "main" / "locales" / "server"
MEMBER, STAFF, ADMIN = 1, 2, 3  # the seeded user types
BRONZE, SILVER, GOLD = 1, 2, 3  # and levels


def _message(lang: str, code: str) -> str:
    tree: Any = json.loads((CATALOGS / f"{lang}.json").read_text("utf-8"))["errors"]
    for part in code.split("."):
        tree = tree[part]
    return str(tree)


class Person:
    """One browser or API client, signed in as someone (or no one)."""

    def __init__(self, http: httpx.AsyncClient, user_id: int | None = None) -> None:
        self.http = http
        self.id = user_id
        self.token = ""

    async def visit(self) -> Person:
        """Open a session (and learn its CSRF token), as a first page load does."""
        self.token = (await self.http.get("/api/session")).json()["data"]["csrf_token"]
        return self

    async def sign_in(self, email: str, password: str) -> Person:
        await self.visit()
        signed = await self.api("POST", "/api/login", {"email": email, "password": password})
        assert signed.status_code == 200, signed.text
        return await self.visit()  # the token changes with the session at sign-in

    async def page(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """A page as a browser asks for it: GET, or a form POST when ``data`` is given."""
        headers = {"accept": "text/html"}
        if data is None:
            return await self.http.get(path, headers=headers)
        form = {"csrf_token": self.token, **data}
        return await self.http.post(path, data=form, headers=headers)

    async def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"x-csrf-token": self.token}
        return await self.http.request(method, path, json=body, headers=headers)


@pytest_asyncio.fixture
async def people(app: Any, member: dict[str, Any]) -> AsyncIterator[dict[str, Person]]:
    """anonymous; owner (Mina, a member); other (another member); admin."""
    auth = AuthService(app.ctx())
    other = await auth.register(email="oscar@example.com", name="Oscar", password="other-pass-11")
    admin = await auth.register(
        email="ada@example.com", name="Ada", password="admin-pass-11", type_code="admin"
    )
    async with AsyncExitStack() as stack:

        async def person(user_id: int | None = None) -> Person:
            return Person(await stack.enter_async_context(http_client(app)), user_id)

        yield {
            "anonymous": await (await person()).visit(),
            "owner": await (await person(member["id"])).sign_in(
                member["email"], member["password"]
            ),
            "other": await (await person(other["id"])).sign_in(
                "oscar@example.com", "other-pass-11"
            ),
            "admin": await (await person(admin["id"])).sign_in("ada@example.com", "admin-pass-11"),
        }


def refused(response: httpx.Response, code: str, status: int = 403, lang: str = "en") -> None:
    """The request was refused with ``code``, explained in the reader's language (a page shows
    it on the error page; the API sends it as the envelope's message)."""
    assert response.status_code == status, response.text
    expected = _message(lang, code)
    if response.headers["content-type"].startswith("text/html"):
        assert expected in html.unescape(response.text), response.text
    else:
        error = response.json()["error"]
        assert (error["code"], error["message"]) == (code, expected)


def to_login(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login?next=")


async def _user(app: Any, user_id: int) -> dict[str, Any] | None:
    return await app.ctx().db().get(User, user_id)


def _profile(user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the edit form posts back for ``user``, with ``changes``."""
    form = {
        "email": user["email"],
        "name": user["name"],
        "password": "",
        "locale": user["locale"],
    }
    return form | {k: str(v) for k, v in changes.items()}


# -- anonymous visitors --------------------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_sign_in_on_every_users_and_boards_route(
    app, people, member
):
    board_id = await BoardsService(app.ctx()).create(member["id"], "B", None, None)
    nobody = people["anonymous"]
    target = member["id"]
    for path in ["/users", "/users/new", f"/users/{target}/edit", f"/users/{target}/avatar"]:
        to_login(await nobody.page(path))
    for path in ["/boards", f"/boards/{board_id}", "/logs"]:
        to_login(await nobody.page(path))
    for path, data in [
        ("/users", {"email": "x@example.com", "name": "X", "password": "long-enough-1"}),
        (f"/users/{target}", {"name": "Hacked"}),
        (f"/users/{target}/delete", {}),
        ("/boards", {"title": "T"}),
        (f"/boards/{board_id}/notes", {"body": "b"}),
        (f"/boards/{board_id}/delete", {}),
    ]:
        to_login(await nobody.page(path, data))
    for method, path, body in [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"email": "x@example.com", "name": "X", "password": "p"}),
        ("GET", f"/api/users/{target}", None),
        ("PATCH", f"/api/users/{target}", {"name": "Hacked"}),
        ("DELETE", f"/api/users/{target}", None),
        ("GET", "/api/boards", None),
        ("POST", "/api/boards", {"title": "T"}),
        ("GET", f"/api/boards/{board_id}", None),
        ("POST", f"/api/boards/{board_id}/notes", {"body": "b"}),
        ("DELETE", f"/api/boards/{board_id}", None),
        ("GET", "/api/logs", None),
    ]:
        refused(await nobody.api(method, path, body), "auth.required", 401)
    assert (await _user(app, target))["name"] == "Mina Park"
    db = app.ctx().db()
    assert (await db.count(User), await db.count(Board), await db.count(Note)) == (3, 1, 0)


# -- creating users ------------------------------------------------------------------------


async def test_only_administrators_open_the_new_user_form_and_create_users(app, people):
    new = {"email": "new@example.com", "name": "New", "password": "fresh-start-9"}
    db = app.ctx().db()
    for who in ("owner", "other"):
        member = people[who]
        refused(await member.page("/users/new"), "users.create_forbidden")
        page = await member.page("/users", new | {"type_id": ADMIN, "level_id": GOLD})
        refused(page, "users.create_forbidden")
        api = await member.api("POST", "/api/users", new | {"type_id": ADMIN, "level_id": GOLD})
        refused(api, "users.create_forbidden")
    assert not await db.exists(User, where={"email": "new@example.com"})

    admin = people["admin"]
    form = await admin.page("/users/new")
    assert form.status_code == 200 and 'id="f-type_id"' in form.text
    created = await admin.page("/users", new | {"type_id": STAFF, "level_id": SILVER})
    assert (created.status_code, created.headers["location"]) == (303, "/users")
    made = await admin.api(
        "POST", "/api/users", new | {"email": "boss@example.com", "type_id": ADMIN, "level_id": 1}
    )
    assert made.status_code == 201, made.text
    [staff] = await db.find(User, where={"email": "new@example.com"})
    [boss] = await db.find(User, where={"email": "boss@example.com"})
    assert (staff["type_id"], staff["level_id"], boss["type_id"]) == (STAFF, SILVER, ADMIN)


async def test_registration_is_public_and_always_makes_a_member(app, client):
    token = (await client.get("/api/session")).json()["data"]["csrf_token"]
    sneaky = {
        "email": "climber@example.com",
        "name": "Climber",
        "password": "ladder-up-99",
        "type_id": ADMIN,
        "level_id": GOLD,
        "type_code": "admin",
        "level_code": "gold",
    }
    made = await client.post("/api/register", json=sneaky, headers={"x-csrf-token": token})
    assert made.status_code == 201, made.text
    user = await _user(app, made.json()["data"]["id"])
    assert (user["type_id"], user["level_id"]) == (MEMBER, BRONZE)
    assert (await client.get("/api/logs")).status_code == 403


# -- editing users -------------------------------------------------------------------------


async def test_a_member_cannot_edit_another_users_profile_page_or_api(app, people, member):
    other, target = people["other"], member["id"]
    before = await _user(app, target)
    refused(await other.page(f"/users/{target}/edit"), "users.edit_forbidden")
    for changes in [
        {"name": "Hacked"},
        {"email": "oscar2@example.com"},
        {"password": "taken-over-123"},
    ]:
        refused(
            await other.page(f"/users/{target}", _profile(before, **changes)),
            "users.edit_forbidden",
        )
        refused(await other.api("PATCH", f"/api/users/{target}", changes), "users.edit_forbidden")
    # even an invalid body is refused before it is read: nothing is learnt from validation
    refused(await other.api("PATCH", f"/api/users/{target}", {"email": 1}), "users.edit_forbidden")
    assert await _user(app, target) == before
    # and the owner's password is still the one that opens the account
    thief = people["anonymous"]
    tried = {"email": member["email"], "password": "taken-over-123"}
    stolen = await thief.api("POST", "/api/login", tried)
    assert (stolen.status_code, stolen.json()["error"]["code"]) == (422, "auth.invalid_credentials")


async def test_a_member_edits_their_own_name_email_password_and_language(app, people, member):
    owner, me = people["owner"], member["id"]
    form = await owner.page(f"/users/{me}/edit")
    assert form.status_code == 200 and 'value="Mina Park"' in form.text
    assert 'id="f-type_id"' not in form.text and 'id="f-level_id"' not in form.text
    assert 'id="wallet"' in form.text
    saved = await owner.page(
        f"/users/{me}", _profile(await _user(app, me), name="Mina K", locale="ko")
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/users")
    patched = await owner.api(
        "PATCH",
        f"/api/users/{me}",
        {"email": "mina.k@example.com", "password": "new-secret-77"},
    )
    assert patched.status_code == 200, patched.text
    user = await _user(app, me)
    assert (user["name"], user["locale"], user["email"]) == ("Mina K", "ko", "mina.k@example.com")
    assert (user["type_id"], user["level_id"]) == (MEMBER, BRONZE)
    await Person(people["anonymous"].http).sign_in("mina.k@example.com", "new-secret-77")


async def test_a_member_cannot_raise_their_own_type_or_level_or_touch_their_wallet(
    app, people, member
):
    owner, me = people["owner"], member["id"]
    before = await _user(app, me)
    for changes in [{"type_id": ADMIN}, {"level_id": GOLD}, {"type_id": STAFF, "name": "M"}]:
        refused(await owner.api("PATCH", f"/api/users/{me}", changes), "users.role_forbidden")
        refused(
            await owner.page(f"/users/{me}", _profile(before, **changes)), "users.role_forbidden"
        )
    assert await _user(app, me) == before
    assert (await owner.api("GET", "/api/logs")).status_code == 403  # still not an administrator
    # sending back the type and level one already has changes nothing and is fine
    same = await owner.api(
        "PATCH", f"/api/users/{me}", {"name": "Mina", "type_id": MEMBER, "level_id": BRONZE}
    )
    assert same.status_code == 200, same.text
    # fields that are not the profile's are ignored: no wallet, hash or id from a client
    ignored = await owner.api(
        "PATCH",
        f"/api/users/{me}",
        {"balance": "1000000", "wallet": {"balance": "1000000"}, "password_hash": "x", "id": 1},
    )
    assert ignored.status_code == 200, ignored.text
    db = app.ctx().db()
    [wallet] = await db.find(Wallet, where={"user_id": me})
    assert str(wallet["balance"]) in ("0", "0.00")
    assert (await _user(app, me))["password_hash"] == before["password_hash"]


async def test_administrators_edit_anyone_including_type_and_level(app, people, member):
    admin, target = people["admin"], member["id"]
    form = await admin.page(f"/users/{target}/edit")
    assert form.status_code == 200 and 'id="f-type_id"' in form.text
    saved = await admin.page(
        f"/users/{target}",
        _profile(await _user(app, target), name="Mina (staff)", type_id=STAFF, level_id=SILVER),
    )
    assert saved.status_code == 303, saved.text
    patched = await admin.api("PATCH", f"/api/users/{target}", {"level_id": GOLD})
    assert patched.status_code == 200, patched.text
    user = await _user(app, target)
    assert (user["name"], user["type_id"], user["level_id"]) == ("Mina (staff)", STAFF, GOLD)
    shown = (await admin.api("GET", f"/api/users/{target}")).json()["data"]
    assert shown["wallet"]["balance"] == "0.00"


async def test_an_administrator_cannot_change_their_own_type_or_delete_themselves(app, people):
    admin = people["admin"]
    me = admin.id
    refused(await admin.api("PATCH", f"/api/users/{me}", {"type_id": MEMBER}), "users.own_type")
    refused(
        await admin.page(f"/users/{me}", _profile(await _user(app, me), type_id=MEMBER)),
        "users.own_type",
    )
    refused(await admin.api("DELETE", f"/api/users/{me}"), "users.delete_self")
    refused(await admin.page(f"/users/{me}/delete", {}), "users.delete_self")
    assert (await _user(app, me))["type_id"] == ADMIN
    own_level = await admin.api("PATCH", f"/api/users/{me}", {"level_id": GOLD, "name": "Ada L"})
    assert own_level.status_code == 200, own_level.text


# -- seeing users --------------------------------------------------------------------------


async def test_members_see_the_list_and_profiles_but_only_their_own_wallet(app, people, member):
    target = member["id"]
    for who in ("owner", "other", "admin"):
        listed = await people[who].api("GET", "/api/users")
        assert listed.status_code == 200 and len(listed.json()["data"]["items"]) == 3
        shown = await people[who].api("GET", f"/api/users/{target}")
        assert shown.status_code == 200 and shown.json()["data"]["user"]["name"] == "Mina Park"
        wallet = shown.json()["data"]["wallet"]
        assert (wallet is None) == (who == "other"), who
        assert (await people[who].page("/users")).status_code == 200


async def test_the_list_page_offers_only_what_the_reader_may_do(app, people, member):
    mine = (await people["owner"].page("/users")).text
    assert 'id="new-user"' not in mine and 'class="delete"' not in mine
    assert mine.count('class="edit"') == 1
    assert f'href="/users/{member["id"]}/edit" class="edit"' in mine
    everything = (await people["admin"].page("/users")).text
    assert 'id="new-user"' in everything
    assert everything.count('class="edit"') == 3
    assert everything.count('class="delete"') == 2  # not their own account


# -- deleting users ------------------------------------------------------------------------


async def test_only_administrators_delete_users_page_or_api(app, people, member):
    target = member["id"]
    for who in ("other", "owner"):
        refused(await people[who].api("DELETE", f"/api/users/{target}"), "users.delete_forbidden")
        refused(await people[who].page(f"/users/{target}/delete", {}), "users.delete_forbidden")
    assert await _user(app, target) is not None
    admin = people["admin"]
    deleted = await admin.page(f"/users/{target}/delete", {})
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/users")
    assert await _user(app, target) is None
    other_id = people["other"].id
    assert (await admin.api("DELETE", f"/api/users/{other_id}")).status_code == 200
    assert await _user(app, other_id) is None


async def test_unknown_users_are_404_to_administrators_and_403_to_members(app, people):
    refused(await people["admin"].api("GET", "/api/users/4242"), "users.not_found", 404)
    refused(
        await people["admin"].api("PATCH", "/api/users/4242", {"name": "X"}), "users.not_found", 404
    )
    refused(await people["admin"].api("DELETE", "/api/users/4242"), "users.not_found", 404)
    refused(await people["admin"].page("/users/4242/edit"), "users.not_found", 404)
    # a member may not edit anyone else: whether the user exists is none of their business
    refused(
        await people["other"].api("PATCH", "/api/users/4242", {"name": "X"}), "users.edit_forbidden"
    )
    refused(await people["other"].api("DELETE", "/api/users/4242"), "users.delete_forbidden")


# -- boards --------------------------------------------------------------------------------


async def test_boards_are_shared_but_only_their_owner_deletes_them(app, people, member):
    service = BoardsService(app.ctx())
    board_id = await service.create(member["id"], "Mina's", None, "first")
    db = app.ctx().db()
    for who in ("other", "admin"):
        person = people[who]
        shown = await person.page(f"/boards/{board_id}")
        assert shown.status_code == 200 and 'class="delete"' not in shown.text
        assert (await person.api("GET", f"/api/boards/{board_id}")).status_code == 200
        assert (await person.page(f"/boards/{board_id}/notes", {"body": who})).status_code == 303
        noted = await person.api("POST", f"/api/boards/{board_id}/notes", {"body": who})
        assert noted.status_code == 201
        refused(await person.page(f"/boards/{board_id}/delete", {}), "boards.not_owner")
        refused(await person.api("DELETE", f"/api/boards/{board_id}"), "boards.not_owner")
    assert await db.count(Board) == 1 and await db.count(Note) == 5

    owner = people["owner"]
    assert 'class="delete"' in (await owner.page(f"/boards/{board_id}")).text
    assert (await owner.api("DELETE", f"/api/boards/{board_id}")).status_code == 200
    second = await service.create(member["id"], "Another", None, None)
    deleted = await owner.page(f"/boards/{second}/delete", {})
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/boards")
    assert await db.count(Board) == 0 and await db.count(Note) == 0
    refused(await owner.api("DELETE", f"/api/boards/{second}"), "boards.not_found", 404)


async def test_anyone_signed_in_creates_boards_as_themselves(app, people):
    made = await people["other"].api("POST", "/api/boards", {"title": "Mine", "owner_id": 1})
    assert made.status_code == 201, made.text
    board = await app.ctx().db().get(Board, made.json()["data"]["id"])
    assert board["owner_id"] == people["other"].id


# -- the refusals speak the reader's language ----------------------------------------------


async def test_refusals_are_explained_in_english_and_korean(app, people, member):
    other, target = people["other"], member["id"]
    refused(await other.page(f"/users/{target}/edit"), "users.edit_forbidden")
    other.http.cookies.set("locale", "ko")
    refused(await other.page(f"/users/{target}/edit"), "users.edit_forbidden", lang="ko")
    other.http.cookies.delete("locale")
    korean = await other.http.patch(
        f"/api/users/{target}",
        json={"name": "X"},
        headers={"x-csrf-token": other.token, "accept-language": "ko"},
    )
    refused(korean, "users.edit_forbidden", lang="ko")
    refused(await other.api("GET", "/api/logs"), "auth.role_required")
