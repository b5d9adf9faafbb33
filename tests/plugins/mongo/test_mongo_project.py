"""A `mega new` project switched to `driver = "mongo"`: `mega g model` renders the mongo model
and a test that passes against the server, and `mega migrate make/sql/up/status/check/down` work
unchanged (`sql` prints the database commands)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from .conftest import MongoServer, drop_database


def test_generated_model_migrations_and_test_on_mongo(
    project: Path, enable: Any, mega: Any, mongo_server: MongoServer
) -> None:
    database = f"mega_p_{uuid.uuid4().hex[:10]}"
    enable(
        "db",
        "mongo",
        extra=f'\n[adapters.db.default]\ndriver = "mongo"\nurl = "{mongo_server.url}"\n'
        f'database = "{database}"\ntransactions = "{mongo_server.transactions}"\n',
    )
    try:
        mega("g", "model", "BlogPost", cwd=project)
        model = (project / "apps" / "main" / "models" / "blog_post.py").read_text()
        assert "collection ``blog_posts`` on MongoDB" in model and "Json(default=list)" in model
        test = project / "tests" / "main" / "test_blog_post_model.py"
        assert "MongoDatabase" in test.read_text()

        assert "create_posts.py" in mega("migrate", "make", "create_posts", cwd=project).stdout
        commands = mega("migrate", "sql", cwd=project).stdout  # the dry run: JSON commands
        assert '{"create": "blog_posts", "validator": {"$jsonSchema":' in commands
        assert '"createIndexes": "blog_posts"' in commands
        assert "applied 1 migration(s)" in mega("migrate", "up", cwd=project).stdout
        status = mega("migrate", "status", cwd=project).stdout
        assert status.startswith("applied ") and "create_posts" in status
        assert "no drift" in mega("migrate", "check", cwd=project).stdout

        env = {**mega.env(), "MEGA_TEST_MONGO_URL": mongo_server.url}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout + run.stderr

        assert "undone" in mega("migrate", "down", cwd=project).stdout
    finally:
        asyncio.run(drop_database(mongo_server.url, database))
