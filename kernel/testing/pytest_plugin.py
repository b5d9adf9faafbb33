"""mega's pytest plugin (entry point ``pytest11``): the ``app`` and ``mega_config`` fixtures.

``app`` boots the app described by ``mega_config`` (in the test's temporary directory, so the
config's relative paths — SQLite files, the local job store — are the test's own) and shuts it
down after the test. By default
``mega_config`` is ``None``: the project's ``mega.toml`` at pytest's rootdir. Override it in a
``conftest.py`` to boot from a dict instead::

    @pytest.fixture
    def mega_config():
        return {"app": {"plugins": ["memory"]}}
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

try:
    import pytest_asyncio

    HAVE_PYTEST_ASYNCIO = True
except ImportError:  # pragma: no cover - exercised only where pytest-asyncio is missing
    HAVE_PYTEST_ASYNCIO = False


@pytest.fixture
def mega_config() -> dict[str, Any] | None:
    """The config the ``app`` fixture boots; None means the project's mega.toml."""
    return None


if HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def app(
        mega_config: dict[str, Any] | None,
        request: pytest.FixtureRequest,
        tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> AsyncIterator[Any]:
        """A booted mega App; shut down after the test.

        It runs in the test's own temporary directory: the relative paths of the config (the
        SQLite database, the local job store, file stores under ``.mega/``) land there, so a
        test starts from empty stores and never touches your development data.
        """
        from mega.testing import boot_app

        root = request.config.rootpath
        monkeypatch.chdir(tmp_path)
        async with boot_app(mega_config, root=root) as booted:
            yield booted

    @pytest_asyncio.fixture
    async def client(app: Any) -> AsyncIterator[Any]:
        """An httpx.AsyncClient calling the booted ``app`` in-process (needs the http plugin)."""
        from mega.testing import http_client

        async with http_client(app) as http:
            yield http

else:

    @pytest.fixture
    def app() -> None:
        raise pytest.UsageError(
            "the mega `app` fixture is async and needs pytest-asyncio: "
            "pip install 'mega-framework[dev]'"
        )
