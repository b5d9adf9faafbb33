"""The welcome e-mail job: rendered in the user's language into the outbox, idempotent."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

from apps.main.jobs.send_welcome import SendWelcome
from apps.main.services.auth_service import AuthService

from mega.testing import run_job
from tests.conftest import DISTRIBUTED


def _subject(path: Path) -> str:
    return str(make_header(decode_header(message_from_bytes(path.read_bytes())["Subject"])))


async def test_the_welcome_is_written_in_the_users_language(app, state):
    user = await AuthService(app.ctx()).register(
        email="ko@example.com", name="민지", password="green-tea-88", locale="ko"
    )
    result = await run_job(app, SendWelcome, {"user_id": user["id"]})
    path = Path(state["CRUD_OUTBOX"]) / f"welcome-{user['id']}.eml"
    assert result == {"sent": True, "path": str(path)}
    assert _subject(path) == "민지님, crud에 오신 것을 환영합니다!"
    again = await run_job(app, SendWelcome, {"user_id": user["id"]})  # redelivered: same file
    # (the app's own consumer sends it too, now that the job is published at the commit: its
    # write may still be a temporary file beside it)
    assert again == result and list(path.parent.glob("*.eml")) == [path]


async def test_a_job_for_a_user_that_is_gone_does_nothing(app, state):
    assert await run_job(app, SendWelcome, {"user_id": 4242}) == {
        "sent": False,
        "reason": "no such user",
    }
    assert not Path(state["CRUD_OUTBOX"]).exists()


async def test_registering_sends_the_welcome_through_the_bus(app, state, member):
    if DISTRIBUTED:  # `mega worker` consumes there (tests/examples/ runs one); here: queued
        jobs = app.extensions["jobs"]
        stats = await jobs.queue(SendWelcome.bus).bus.stats(SendWelcome.subject)
        assert stats.depth == 1
        return
    path = Path(state["CRUD_OUTBOX"]) / f"welcome-{member['id']}.eml"
    for _ in range(100):  # consumed in-process ([plugins.jobs] consume = true)
        if path.exists():
            break
        await asyncio.sleep(0.05)
    assert _subject(path) == "Welcome to crud, Mina Park!"


async def _welcomes(folder: Path, count: int, within: float = 60.0) -> set[str]:
    async with asyncio.timeout(within):
        while True:  # files appear as the job runs: there is no event to wait on
            found = {p.name for p in folder.glob("welcome-*.eml")} if folder.exists() else set()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


async def test_forty_concurrent_registrations_send_forty_welcomes(app, state):
    if DISTRIBUTED:
        await app.ctx().jobs.start()  # a worker in this process (mega worker's part)
    auth = AuthService(app.ctx())
    users = await asyncio.gather(
        *(
            auth.register(email=f"u{i}@example.com", name=f"User {i}", password="tulip-garden-42")
            for i in range(40)
        )
    )
    found = await _welcomes(Path(state["CRUD_OUTBOX"]), 40)
    assert found == {f"welcome-{u['id']}.eml" for u in users}


async def test_a_registration_that_rolls_back_queues_no_welcome(app):
    from apps.main.models.user import User

    dispatched = []
    app.ctx().jobs.events.on("dispatch", dispatched.append)  # every job stored on the bus
    db = app.ctx().db()
    try:
        async with db.transaction():
            user_id = await db.insert(
                User, {"email": "gone@example.com", "name": "Gone", "password_hash": "x",
                       "type_id": 1, "level_id": 1}
            )  # fmt: skip
            await app.ctx().jobs.enqueue(SendWelcome, {"user_id": user_id})
            raise LookupError("the wallet could not be made")
    except LookupError:
        pass
    await asyncio.sleep(0.3)  # the relay polls the outbox meanwhile
    assert dispatched == []
    assert await db.count(User, User.email == "gone@example.com") == 0


def test_failures_are_retried_then_dead_lettered():
    assert SendWelcome.retries == 3
