"""Boards and notes: relations, a transaction, ownership, live note announcements."""

from __future__ import annotations

from apps.main.models.board import Board
from apps.main.models.note import Note
from apps.main.services.auth_service import AuthService
from apps.main.services.boards_service import BoardsService
from tests.pages import errors_on, flash_on


async def test_a_board_and_its_first_note_are_created_together(app, browser, member):
    await browser.login(member["email"], member["password"])
    await browser.get("/boards")
    page = await browser.submit(
        "/boards", {"title": "Plans", "description": "", "first_note": "hello"}
    )
    assert flash_on(page) == "Board created."
    assert "<strong>Mina Park</strong>: hello" in page.text
    page = await browser.submit(f"{page.url.path}/notes", {"body": "second"})
    assert flash_on(page) == "Note added."
    db = app.ctx().db()
    [board] = await db.find(Board)
    assert [
        n["body"] for n in await db.find(Note, where={"board_id": board["id"]}, order_by="id")
    ] == ["hello", "second"]


async def test_a_failing_note_rolls_the_board_back(app, member):
    service = BoardsService(app.ctx())
    try:  # a note by an author that does not exist: the foreign key refuses it
        async with app.ctx().db().transaction():
            await service.db.insert(Board, {"owner_id": member["id"], "title": "Half"})
            await service.db.insert(Note, {"board_id": 1, "author_id": 999, "body": "x"})
    except Exception as exc:
        assert getattr(exc, "code", "") == "db.foreign_key_violation"
    else:
        raise AssertionError("the foreign key should have refused the note")
    assert await app.ctx().db().count(Board) == 0


async def test_an_empty_note_is_shown_on_the_board_page(app, browser, member):
    board_id = await BoardsService(app.ctx()).create(member["id"], "B", None, None)
    await browser.login(member["email"], member["password"])
    await browser.get(f"/boards/{board_id}")
    page = await browser.submit(f"/boards/{board_id}/notes", {"body": ""})
    assert page.status_code == 422
    assert errors_on(page) == ["This field is required."]
    assert await app.ctx().db().count(Note) == 0


async def test_only_the_owner_may_delete_a_board(app, client, browser, member):
    other = await AuthService(app.ctx()).register(
        email="o@example.com", name="Other", password="other-pass-1"
    )
    board_id = await BoardsService(app.ctx()).create(other["id"], "Theirs", None, "n")
    await browser.login(member["email"], member["password"])
    await browser.get(f"/boards/{board_id}")
    refused = await browser.http.post(
        f"/boards/{board_id}/delete", data={"csrf_token": browser.csrf}
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "boards.not_owner")
    assert await app.ctx().db().count(Board) == 1


async def test_unknown_boards_are_404(browser, member):
    await browser.login(member["email"], member["password"])
    response = await browser.http.get("/api/boards/4242")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "boards.not_found")
