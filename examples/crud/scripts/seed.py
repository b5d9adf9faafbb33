"""Seed the demo: the demo account, sample users to page through, a board with a note.

Idempotent: run it again and it adds nothing. Uses only the app's own services through a booted
app, as a job or a handler would::

    python scripts/seed.py            # from examples/crud, after `mega migrate up`
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "mega-crud-2026"
SAMPLE_NAMES = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Ken Thompson",
    "Frances Allen",
    "John Backus",
    "Radia Perlman",
    "Tony Hoare",
    "Leslie Lamport",
    "Shafi Goldwasser",
    "Niklaus Wirth",
    "Sophie Wilson",
    "Guido van Rossum",
    "Jean Sammet",
    "Dennis Ritchie",
    "Adele Goldberg",
    "Butler Lampson",
    "Karen Spärck Jones",
    "Kim Jong-ho",
    "Lee Hye-won",
]


async def seed(root: Path = ROOT) -> dict[str, int]:
    sys.path.insert(0, str(root))
    from apps.main.models.board import Board
    from apps.main.models.user import User
    from apps.main.services.auth_service import AuthService
    from apps.main.services.boards_service import BoardsService

    from mega import App

    # seeding is not serving: no job consumption, no schedule loops in this short-lived process
    quiet = {
        "MEGA__PLUGINS__SCHEDULE__START": "false",
        "MEGA__PLUGINS__JOBS__CONSUME": "false",
        "MEGA__APP__LOG_LEVEL": "warning",
    }
    app = App.from_project(root, environ={**os.environ, **quiet})
    created = {"users": 0, "boards": 0}
    async with app:
        ctx = app.ctx()
        db = ctx.db()
        auth = AuthService(ctx)
        if not await db.exists(User, where={"email": DEMO_EMAIL}):
            await auth.register(
                email=DEMO_EMAIL,
                name="Demo User",
                password=DEMO_PASSWORD,
                type_code="admin",
                level_code="gold",
            )
            created["users"] += 1
        for i, name in enumerate(SAMPLE_NAMES):
            email = f"{name.split()[0].lower()}.{i}@example.com"
            if not await db.exists(User, where={"email": email}):
                await auth.register(
                    email=email,
                    name=name,
                    password=f"sample-pass-{i:02d}",
                    type_code=("member", "staff")[i % 2],
                    level_code=("bronze", "silver", "gold")[i % 3],
                )
                created["users"] += 1
        if not await db.exists(Board):
            demo = (await db.find(User, where={"email": DEMO_EMAIL}, limit=1))[0]
            await BoardsService(ctx).create(
                demo["id"],
                "Welcome board",
                "Open this page in two browsers to see presence.",
                "Notes are added in a transaction with their board.",
            )
            created["boards"] += 1
    return created


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Seed the demo account and sample data.")
    parser.add_argument("--port", type=int, default=8000, help="where `mega serve` will listen")
    port = parser.parse_args().port
    created = asyncio.run(seed())
    print(f"seeded {created['users']} user(s), {created['boards']} board(s)")
    print(f"\n  crud is starting on http://127.0.0.1:{port}")
    print(f"  sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}  (or register your own account)")
    print("  welcome e-mails land in .mega/outbox/; Ctrl-C stops the server\n")


if __name__ == "__main__":
    main()
