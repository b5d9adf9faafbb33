"""Over HTTP: 429 with Retry-After from the guard, SignedIn and RequireRole, sign-in and
sign-out, the user loader."""

from __future__ import annotations

import pytest

from mega import MegaConfigError
from mega.plugins.auth import passwords

from .conftest import client_from

ROUTES = """
from pydantic import BaseModel

from mega import MegaError
from mega.plugins.auth import (
    GuardLogin, RequireRole, SignedIn, client_address, current_user, guard, passwords,
    require_role, sign_in, sign_out,
)
from mega.plugins.http import get, post

USERS = {}  # e-mail -> {"id", "hash", "roles"}


class Credentials(BaseModel):
    email: str
    password: str


async def login(ctx, body: Credentials):
    address = client_address(ctx)
    await guard(ctx).check(body.email, address)
    user = USERS.get(body.email)
    checked = await passwords(ctx).verify(user["hash"] if user else None, body.password)
    if not checked.ok:
        await guard(ctx).record_failure(body.email, address)
        raise MegaError("auth.invalid_credentials", "wrong e-mail or password", http_status=422)
    await guard(ctx).record_success(body.email)
    sign_in(ctx, user["id"], roles=user["roles"])
    return {"id": user["id"]}


async def logout(ctx):
    sign_out(ctx)
    return {"signed_out": True}


async def me(ctx):
    who = await current_user(ctx)
    return None if who is None else {"id": who.id, "roles": sorted(who.roles), "user": who.user}


async def secret(ctx):
    return "for members"


async def staff(ctx):
    who = await require_role(ctx, "staff", "admin")
    return who.id


routes = [
    post("/login", login, name="login", csrf=False, middleware=[GuardLogin]),
    post("/logout", logout, name="logout", csrf=False),
    get("/me", me, name="me"),
    get("/secret", secret, name="secret", middleware=[SignedIn]),
    get("/admin", secret, name="admin", middleware=[RequireRole("admin")]),
    get("/staff", staff, name="staff"),
]
"""
FILES = {"apps/main/routes/auth.py": ROUTES}
GUARD = {"guard": {"account_threshold": 3, "address_threshold": 5, "base_lock_s": 30}}


async def add_user(app, email: str, password: str, user_id: int, roles=()) -> None:
    from apps.main.routes.auth import USERS

    USERS[email] = {"id": user_id, "hash": await passwords(app).hash(password), "roles": roles}


async def test_a_locked_account_answers_429_with_retry_after_from_any_address(auth_app):
    async with auth_app(FILES, auth=GUARD) as app:
        await add_user(app, "mina@example.com", "tulip-garden-42", 1)
        wrong = {"email": "mina@example.com", "password": "guess-1"}
        async with client_from(app, "198.51.100.7") as client:
            statuses = [(await client.post("/login", json=wrong)).status_code for _ in range(3)]
            assert statuses == [422, 422, 422]
        async with client_from(app, "203.0.113.50") as elsewhere:
            right = {"email": "mina@example.com", "password": "tulip-garden-42"}
            refused = await elsewhere.post("/login", json=right)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert refused.json()["error"] == {
            "code": "auth.locked",
            "message": "too many failed sign-ins from this account; try again in 30 s",
            "details": {"scope": "account", "retry_after_s": 30},
        }


async def test_a_locked_address_is_refused_before_its_body_is_read(auth_app):
    async with auth_app(FILES, auth=GUARD) as app:
        async with client_from(app, "198.51.100.7") as client:
            for i in range(5):
                guess = {"email": f"user{i}@example.com", "password": "guess-1"}
                assert (await client.post("/login", json=guess)).status_code == 422
            # GuardLogin answers first: not even the body's syntax is looked at
            refused = await client.post(
                "/login", content=b"{not json", headers={"content-type": "application/json"}
            )
            assert (refused.status_code, refused.headers["retry-after"]) == (429, "30")
            assert refused.json()["error"]["details"] == {"scope": "address", "retry_after_s": 30}
            # a forwarded header does not make another client of a peer (no trusted proxy here)
            forwarded = await client.post(
                "/login",
                json={"email": "x@example.com", "password": "guess-1"},
                headers={"x-forwarded-for": "203.0.113.9"},
            )
            assert forwarded.status_code == 429
        async with client_from(app, "198.51.100.8") as other:
            answer = await other.post("/login", json={"email": "x@example.com", "password": "p"})
            assert answer.status_code == 422


async def test_signed_in_routes_refuse_anonymous_callers_with_401(auth_app):
    async with auth_app(FILES) as app:
        await add_user(app, "mina@example.com", "tulip-garden-42", 7)
        async with client_from(app) as client:
            anonymous = await client.get("/secret", headers={"accept": "text/html"})
            assert anonymous.status_code == 401
            assert anonymous.json()["error"]["code"] == "auth.required"
            creds = {"email": "mina@example.com", "password": "tulip-garden-42"}
            assert (await client.post("/login", json=creds)).status_code == 200
            assert (await client.get("/secret")).json()["data"] == "for members"
            assert (await client.get("/me")).json()["data"] == {"id": 7, "roles": [], "user": None}
            assert (await client.post("/logout")).status_code == 200
            assert (await client.get("/secret")).status_code == 401
            assert (await client.get("/me")).json()["data"] is None


async def test_with_a_login_url_browsers_are_sent_to_sign_in_and_api_clients_get_401(auth_app):
    async with auth_app(FILES, auth={"login_url": "/login"}) as app:
        async with client_from(app) as client:
            page = await client.get("/secret?tab=2", headers={"accept": "text/html,*/*"})
            assert page.status_code == 303
            assert page.headers["location"] == "/login?next=/secret%3Ftab%3D2"
            api = await client.get("/secret", headers={"accept": "application/json"})
            assert api.status_code == 401
            assert (await client.get("/admin", headers={"accept": "text/html"})).status_code == 303


async def test_signing_in_gives_the_session_a_new_id(auth_app):
    memory = {"default": {"driver": "memory"}}
    server = {"session": {"secret_key": "k" * 40, "store": "server"}}
    async with auth_app(FILES, http=server, adapters={"cache": memory, "session": memory}) as app:
        await add_user(app, "mina@example.com", "tulip-garden-42", 7)
        creds = {"email": "mina@example.com", "password": "tulip-garden-42"}
        async with client_from(app) as client:
            assert (await client.post("/login", json=creds)).status_code == 200
            first = client.cookies.get("mega_session")
            # a session id known before signing in (here: from an earlier sign-in) is replaced
            assert (await client.post("/login", json=creds)).status_code == 200
            second = client.cookies.get("mega_session")
            assert first and second and first != second
            await client.post("/logout")
            assert client.cookies.get("mega_session") not in (first, second)
        async with client_from(app) as thief:
            thief.cookies.set("mega_session", first, domain="testserver.local")
            assert (await thief.get("/me")).json()["data"] is None


async def test_roles_given_at_sign_in_open_role_routes(auth_app):
    async with auth_app(FILES) as app:
        await add_user(app, "mina@example.com", "member-pass-1", 1, roles=("member",))
        await add_user(app, "ada@example.com", "admin-pass-1", 2, roles=("admin",))
        async with client_from(app) as anonymous:
            assert (await anonymous.get("/admin")).status_code == 401
            assert (await anonymous.get("/staff")).status_code == 401
        async with client_from(app) as member:
            await member.post(
                "/login", json={"email": "mina@example.com", "password": "member-pass-1"}
            )
            refused = await member.get("/admin")
            assert refused.status_code == 403
            assert refused.json()["error"] == {
                "code": "auth.role_required",
                "message": "this needs the role 'admin'",
                "details": {"roles": ["admin"]},
            }
            staff = (await member.get("/staff")).json()["error"]
            assert staff["details"] == {"roles": ["admin", "staff"]}
        async with client_from(app) as admin:
            await admin.post(
                "/login", json={"email": "ada@example.com", "password": "admin-pass-1"}
            )
            assert (await admin.get("/admin")).json()["data"] == "for members"
            assert (await admin.get("/staff")).json()["data"] == 2


LOADER = """
from mega.plugins.auth import Identity

PEOPLE = {1: {"name": "Mina", "roles": {"member"}}}
CALLS = []


async def load(ctx, user_id):
    CALLS.append(user_id)
    person = PEOPLE.get(user_id)
    if person is None:
        return None
    return Identity(user_id, frozenset(person["roles"]), {"name": person["name"]})


async def wrong(ctx, user_id):
    return {"id": user_id}


def not_async(ctx, user_id):
    return None
"""


async def test_a_user_loader_makes_role_changes_and_deletions_count_at_once(auth_app):
    files = {**FILES, "apps/main/people.py": LOADER}
    async with auth_app(files, auth={"user_loader": "apps.main.people:load"}) as app:
        from apps.main.people import CALLS, PEOPLE

        await add_user(app, "mina@example.com", "tulip-garden-42", 1)
        async with client_from(app) as client:
            await client.post(
                "/login", json={"email": "mina@example.com", "password": "tulip-garden-42"}
            )
            me = (await client.get("/me")).json()["data"]
            assert me == {"id": 1, "roles": ["member"], "user": {"name": "Mina"}}
            assert (await client.get("/admin")).status_code == 403
            PEOPLE[1]["roles"] = {"admin"}
            assert (await client.get("/admin")).status_code == 200
            CALLS.clear()
            await client.get("/admin")
            assert CALLS == [1]  # once per request
            del PEOPLE[1]
            assert (await client.get("/admin")).status_code == 401
            assert (await client.get("/me")).json()["data"] is None
            PEOPLE[1] = {"name": "Mina", "roles": set()}
            # the session was emptied when the user was not found: not signed in again
            assert (await client.get("/me")).json()["data"] is None


async def test_a_user_loader_returning_something_else_is_a_500_naming_it(auth_app):
    files = {**FILES, "apps/main/people.py": LOADER}
    async with auth_app(files, auth={"user_loader": "apps.main.people:wrong"}) as app:
        await add_user(app, "mina@example.com", "tulip-garden-42", 1)
        async with client_from(app) as client:
            await client.post(
                "/login", json={"email": "mina@example.com", "password": "tulip-garden-42"}
            )
            answer = await client.get("/secret")
        assert answer.status_code == 500
        assert answer.json()["error"]["code"] == "auth.invalid_identity"


@pytest.mark.parametrize(
    ("loader", "says"),
    [
        ("apps.main.people:missing", "cannot be imported"),
        ("apps.nowhere:load", "cannot be imported"),
        ("apps.main.people:not_async", "is not an async function"),
    ],
    ids=["no-attribute", "no-module", "not-async"],
)
async def test_a_user_loader_that_cannot_be_used_stops_the_boot(auth_app, loader, says):
    files = {**FILES, "apps/main/people.py": LOADER}
    with pytest.raises(MegaConfigError) as refused:
        async with auth_app(files, auth={"user_loader": loader}):
            pass
    assert refused.value.code == "auth.invalid_user_loader"
    assert loader in refused.value.message and says in refused.value.message


async def test_require_role_without_a_role_stops_the_boot_naming_the_rule(auth_app):
    routes = ROUTES.replace('RequireRole("admin")', "RequireRole()")
    with pytest.raises(MegaConfigError) as refused:
        async with auth_app({"apps/main/routes/auth.py": routes}):
            pass
    assert refused.value.code == "auth.invalid_role"
    assert "one or more role names" in refused.value.message
