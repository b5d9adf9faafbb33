"""Register, sign in, sign out: pages and API, and every way it can be refused."""

from __future__ import annotations

from apps.main.models.log import Log
from apps.main.models.user import User
from apps.main.models.wallet import Wallet
from tests.pages import errors_on, flash_on

FORM = {"email": "Jun@Example.com", "name": "Jun", "password": "river-stone-77", "locale": "ko"}


async def test_registering_creates_the_user_with_a_wallet_queues_the_welcome_and_signs_in(
    app, browser, state
):
    page = await browser.get("/register")
    assert page.status_code == 200
    page = await browser.submit("/register", FORM)
    assert page.url.path == "/boards"
    assert flash_on(page) == "Welcome, Jun! Your account is ready."
    db = app.ctx().db()
    [user] = await db.find(User, where={"email": "jun@example.com"})  # stored lowercased
    assert user["password_hash"].startswith("$argon2id$")
    assert user["locale"] == "ko"
    assert await db.count(Wallet, where={"user_id": user["id"]}) == 1
    assert [r["action"] for r in await db.find(Log, where={"user_id": user["id"]})] == [
        "user.registered"
    ]
    assert (await browser.get("/api/session")).json()["data"]["user"]["name"] == "Jun"


async def test_the_welcome_job_is_queued_once_per_user(app, browser):
    await browser.get("/register")
    await browser.submit("/register", FORM)
    [user] = await app.ctx().db().find(User, where={"email": "jun@example.com"})
    # the same msg_id again (a retried request) is not stored twice
    from apps.main.jobs.send_welcome import SendWelcome

    again = await app.ctx().jobs.enqueue(
        SendWelcome, {"user_id": user["id"]}, msg_id=f"welcome-{user['id']}"
    )
    assert again.duplicate is True


async def test_signing_in_rotates_the_session_and_signing_out_ends_it(browser, member):
    await browser.get("/login")
    before = browser.http.cookies.get("mega_session")
    page = await browser.submit(
        "/login", {"email": member["email"], "password": member["password"]}
    )
    assert flash_on(page) == "Signed in as Mina Park."
    after = browser.http.cookies.get("mega_session")
    # a session id held before login (none here: a session is stored once written to) is useless
    assert after and before != after
    page = await browser.submit("/logout", {})
    assert page.url.path == "/login"
    assert (await browser.get("/api/session")).json()["data"]["user"] is None
    assert (await browser.get("/users")).url.path == "/login"


async def test_a_page_that_needs_a_user_sends_an_anonymous_one_to_sign_in_and_back(browser, member):
    page = await browser.get("/users")
    assert (page.url.path, page.url.params["next"]) == ("/login", "/users")
    page = await browser.submit(
        "/login", {"email": member["email"], "password": member["password"], "next": "/users"}
    )
    assert page.url.path == "/users"
    # a next pointing off-site is ignored
    await browser.submit("/logout", {})
    await browser.get("/login")
    page = await browser.submit(
        "/login",
        {"email": member["email"], "password": member["password"], "next": "//evil.example/x"},
    )
    assert page.url.host == "testserver" and page.url.path == "/boards"


async def test_duplicate_email_is_shown_on_the_form_and_nothing_is_written(app, browser, member):
    await browser.get("/register")
    page = await browser.submit("/register", {**FORM, "email": member["email"].upper()})
    assert page.status_code == 422
    assert errors_on(page) == ["This e-mail is already registered."]
    assert 'value="MINA@EXAMPLE.COM"' in page.text  # what the user typed stays in the form
    assert "river-stone-77" not in page.text  # but never the password
    assert await app.ctx().db().count(User) == 1


async def test_weak_passwords_are_refused_with_the_rule(app, browser):
    await browser.get("/register")
    for weak in ("short1", "onlyletterslong", "12345678901", "xjun@example-1"):
        page = await browser.submit(
            "/register", {**FORM, "email": "xjun@example.com", "password": weak}
        )
        assert page.status_code == 422, weak
        assert errors_on(page) == [
            "Choose a stronger password: at least 10 characters, letters mixed with digits or "
            "symbols, and not your e-mail name."
        ]
    assert await app.ctx().db().count(User) == 0


async def test_invalid_fields_are_each_explained_in_the_readers_language(app, browser):
    browser.http.cookies.set("locale", "ko")
    await browser.get("/register")
    page = await browser.submit("/register", {"email": "not-an-email", "name": "", "password": "x"})
    assert page.status_code == 422
    assert errors_on(page) == ["올바른 이메일 주소를 입력하세요.", "필수 항목입니다."]
    assert await app.ctx().db().count(User) == 0


async def test_a_tampered_csrf_token_is_refused_and_nothing_is_written(app, browser):
    await browser.get("/register")
    browser.csrf = browser.csrf[:-4] + "AAAA"
    response = await browser.http.post("/register", data={**FORM, "csrf_token": browser.csrf})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf.invalid"
    assert await app.ctx().db().count(User) == 0


async def test_a_browser_sees_a_refused_form_as_a_page_in_its_language(app, browser):
    await browser.get("/register")
    page = {"accept": "text/html,application/xhtml+xml"}
    form = {**FORM, "csrf_token": "tampered"}
    refused = await browser.http.post("/register", data=form, headers=page)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "This form has expired or was changed on its way here." in refused.text
    browser.http.cookies.set("locale", "ko")
    korean = await browser.http.post("/register", data=form, headers=page)
    assert "양식이 만료되었거나 전송 중에 변경되었습니다." in korean.text
    missing = await browser.http.get("/no/such/page", headers=page)
    assert (missing.status_code, "여기에는 페이지가 없습니다." in missing.text) == (404, True)
    assert await app.ctx().db().count(User) == 0


async def test_eleven_failed_sign_ins_lock_the_account_with_back_off(app, browser, member):
    await browser.get("/login")
    wrong = {"email": member["email"], "password": "not-the-password-1"}
    seen = []
    waits = []
    for _ in range(11):
        page = await browser.submit("/login", wrong)
        seen.append((page.status_code, errors_on(page)[0]))
        waits.append(page.headers.get("retry-after"))
    assert seen[:5] == [(422, "Wrong e-mail or password.")] * 5
    assert all(status == 429 for status, _ in seen[5:])
    assert seen[5][1] == "Too many failed sign-ins. Try again in 30 seconds."
    # the form page says when, as the API does
    assert waits[:5] == [None] * 5 and waits[5] in seen[5][1]
    # while locked even the right password is not checked, so it cannot be confirmed
    right = await browser.submit(
        "/login", {"email": member["email"], "password": member["password"]}
    )
    assert right.status_code == 429
    assert browser.http.cookies.get("mega_session") is None or (
        (await browser.get("/api/session")).json()["data"]["user"] is None
    )
    failed = await app.ctx().db().count(Log, where={"action": "auth.failed"})
    assert failed == 5  # locked attempts are refused before any password check


async def test_the_lock_grows_with_each_failure_after_it_lifts(app, member):
    """The app's guard (the auth plugin's) on the app's cache, with a clock the test moves."""
    from mega.plugins.auth import Guard, GuardSettings, TooManyAttempts

    now = [1_000_000.0]
    policy = GuardSettings(account_threshold=2, base_lock_s=1, max_lock_s=4)
    guard = Guard(app.ctx().cache(), policy, clock=lambda: now[0])
    email = member["email"]
    waits = []
    for _ in range(5):
        try:
            await guard.check(email, "10.0.0.1")
        except TooManyAttempts as exc:
            now[0] += exc.retry_after_s  # sit the lock out
            await guard.check(email, "10.0.0.1")  # lifted
        await guard.record_failure(email, "10.0.0.1")
        try:
            await guard.check(email, "10.0.0.1")
            waits.append(0)
        except TooManyAttempts as exc:
            waits.append(exc.retry_after_s)
    assert waits == [0, 1, 2, 4, 4]  # from the threshold on: doubling, up to the cap


async def test_one_address_failing_across_many_accounts_is_locked_too(app, client):
    for i in range(20):
        response = await client.post(
            "/api/login", json={"email": f"u{i}@example.com", "password": "guess-guess-1"}
        )
        assert response.status_code == 422
    refused = await client.post(
        "/api/login", json={"email": "new@example.com", "password": "guess-guess-1"}
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["details"] == {"scope": "address", "retry_after_s": 30}


async def test_the_json_api_registers_and_signs_in_with_the_same_handlers(app, client):
    created = await client.post("/api/register", json={**FORM, "email": "api@example.com"})
    assert created.status_code == 201
    assert created.json()["data"]["email"] == "api@example.com"
    await client.post("/api/logout", headers={"x-csrf-token": await _csrf(client)})
    # the client still holds a (new, anonymous) session cookie, so its writes carry the token
    token = {"x-csrf-token": await _csrf(client)}
    bad = await client.post(
        "/api/login", json={"email": "api@example.com", "password": "nope"}, headers=token
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "auth.invalid_credentials"
    signed = await client.post(
        "/api/login", json={"email": "api@example.com", "password": FORM["password"]}, headers=token
    )
    assert signed.json()["data"]["csrf_token"]
    token = {"x-csrf-token": await _csrf(client)}
    weak = await client.post(
        "/api/register", json={**FORM, "email": "w@example.com", "password": "weak"}, headers=token
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["details"] == {"field": "password", "min_length": 10}


async def _csrf(client) -> str:
    return (await client.get("/api/session")).json()["data"]["csrf_token"]


async def test_bad_input_through_the_api_is_refused_with_a_code_and_nothing_is_written(
    app, client, member
):
    db = app.ctx().db()
    taken = await client.post("/api/register", json={**FORM, "email": member["email"]})
    assert taken.status_code == 422
    assert taken.json()["error"] == {
        "code": "auth.email_taken",
        "message": "mina@example.com is already registered",
        "details": {"field": "email"},
    }
    signed = await client.post(
        "/api/login", json={"email": member["email"], "password": member["password"]}
    )
    assert signed.status_code == 200
    forged = await client.post(
        "/api/boards", json={"title": "x"}, headers={"x-csrf-token": "forged"}
    )
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "csrf.invalid")
    token = {"x-csrf-token": signed.json()["data"]["csrf_token"]}
    huge = await client.post(
        "/api/boards",
        headers=token | {"content-type": "application/json"},
        content=b'{"title": "' + b"x" * (1024 * 1024) + b'"}',
    )
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "request.too_large")
    invalid = await client.post("/api/boards", json={"title": ""}, headers=token)
    assert invalid.json()["error"]["details"]["errors"][0]["field"] == "body.title"
    from apps.main.models.board import Board

    assert await db.count(Board) == 0 and await db.count(User) == 1
