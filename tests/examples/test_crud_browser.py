"""examples/crud in headless Chromium, as a new user meets it after `make demo`: register, sign
in, find only their own profile editable, watch the demo administrator create / edit / delete a
user in another browser, page through the list, switch to Korean, see a second browser's session
appear on a board's presence list, sign out. A screenshot of every step is kept in
build/artifacts/crud-e2e/ (MEGA_ARTIFACTS overrides build/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import DEMO, REPO


def _artifacts() -> Path:
    folder = Path(os.environ.get("MEGA_ARTIFACTS") or REPO / "build" / "artifacts") / "crud-e2e"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


async def test_a_new_user_walks_through_the_app(crud, chromium):
    from playwright.async_api import Page, async_playwright, expect

    shots = _artifacts()
    _, url = crud.serve()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(locale="en-US")

            async def shot(name: str, on: Page | None = None) -> None:
                await (on or page).screenshot(path=str(shots / f"{name}.png"), full_page=True)

            # register: a taken e-mail and a weak password are explained on the form first
            await page.goto(f"{url}/register")
            await page.fill("#f-email", DEMO[0])
            await page.fill("#f-name", "Eun Seo")
            await page.fill("#f-password", "pine-cone-2026")
            await page.click("form.card button[type=submit]")
            await expect(page.locator("#e-email")).to_have_text(
                "This e-mail is already registered."
            )
            await expect(page.locator("#f-name")).to_have_value("Eun Seo")  # kept
            await page.fill("#f-email", "eun@example.com")
            await page.fill("#f-password", "short")
            await page.click("form.card button[type=submit]")
            await expect(page.locator("#e-password")).to_contain_text("at least 10 characters")
            await shot("00-form-errors")
            # → signed in on the boards page
            await page.fill("#f-password", "pine-cone-2026")
            await page.click("form.card button[type=submit]")
            await expect(page.locator(".flash")).to_have_text(
                "Welcome, Eun Seo! Your account is ready."
            )
            await shot("01-registered")

            # sign out, sign in again
            await page.click("#logout")
            await expect(page.locator(".flash")).to_have_text("You are signed out.")
            await page.fill("#f-email", "eun@example.com")
            await page.fill("#f-password", "pine-cone-2026")
            await page.click("form.card button[type=submit]")
            await expect(page.locator(".who")).to_have_text("Signed in as Eun Seo")
            await shot("02-signed-in")

            # a member sees the list but edits only their own profile
            await page.click("[data-nav=users]")
            await expect(page.locator("#new-user")).to_have_count(0)
            await expect(page.locator("#users button.delete")).to_have_count(0)
            await page.click("[data-nav=profile]")
            await expect(page.locator("#f-name")).to_have_value("Eun Seo")
            await expect(page.locator("#f-type_id")).to_have_count(0)  # administrators only

            # the demo administrator, in another browser: create a user
            admin = await (await browser.new_context(locale="en-US")).new_page()
            await admin.goto(f"{url}/login")
            await admin.fill("#f-email", DEMO[0])
            await admin.fill("#f-password", DEMO[1])
            await admin.click("form.card button[type=submit]")
            await admin.click("[data-nav=users]")
            await admin.click("#new-user")
            await admin.fill("#f-email", "tester@example.com")
            await admin.fill("#f-name", "Aaron Tester")
            await admin.fill("#f-password", "first-pass-11")
            await admin.select_option("#f-level_id", label="Silver")
            await admin.click("#save")
            await expect(admin.locator(".flash")).to_have_text("User Aaron Tester created.")
            row = admin.locator("tr[data-email='tester@example.com']")
            await expect(row).to_contain_text("Silver")
            await shot("03-user-created", admin)

            # edit it
            await row.locator("a.edit").click()
            await admin.fill("#f-name", "Aaron Edited")
            await admin.click("#save")
            await expect(admin.locator(".flash")).to_have_text("User saved.")
            await expect(admin.locator("tr[data-email='tester@example.com']")).to_contain_text(
                "Aaron Edited"
            )
            await shot("04-user-edited", admin)

            # delete it
            await admin.locator("tr[data-email='tester@example.com'] button.delete").click()
            await expect(admin.locator(".flash")).to_have_text("User deleted.")
            await expect(admin.locator("tr[data-email='tester@example.com']")).to_have_count(0)
            await shot("05-user-deleted", admin)
            await admin.context.close()

            await page.click("[data-nav=users]")
            # page through the list: 26 users, 10 a page
            first_page = await page.locator("#users tbody tr").all_inner_texts()
            await page.click("#next-page")
            await expect(page.locator("#users tbody tr")).to_have_count(10)
            second_page = await page.locator("#users tbody tr").all_inner_texts()
            assert not set(first_page) & set(second_page)
            await shot("06-second-page")

            # switch to Korean
            await page.click("a[lang=ko]")
            await expect(page.locator("h1")).to_have_text("사용자")
            await expect(page.locator("[data-nav=boards]")).to_have_text("보드")
            await shot("07-korean")

            # the board's presence list: the demo user opens it in another browser
            await page.click("[data-nav=boards]")
            await page.click("ul.boards a")
            await expect(page.locator("#presence li")).to_have_text(["Eun Seo"])
            other = await (await browser.new_context(locale="en-US")).new_page()
            await other.goto(f"{url}/login")
            await other.fill("#f-email", DEMO[0])
            await other.fill("#f-password", DEMO[1])
            await other.click("form.card button[type=submit]")
            await other.goto(page.url)
            await expect(page.locator("#presence li")).to_have_text(["Demo User", "Eun Seo"])
            await shot("08-presence-two-sessions")
            await other.close()
            await expect(page.locator("#presence li")).to_have_text(["Eun Seo"])

            # sign out
            await page.click("#logout")
            await expect(page.locator(".flash")).to_have_text("로그아웃했습니다.")
            await shot("09-signed-out")
        finally:
            await browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "00-form-errors.png",
        "01-registered.png",
        "02-signed-in.png",
        "03-user-created.png",
        "04-user-edited.png",
        "05-user-deleted.png",
        "06-second-page.png",
        "07-korean.png",
        "08-presence-two-sessions.png",
        "09-signed-out.png",
    ]
