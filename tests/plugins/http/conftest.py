"""A throw-away project on disk per test: files in, app booted, HTTP client out."""

from __future__ import annotations

import contextlib
import sys
import textwrap

import pytest

from mega.testing import boot_app, http_client


def _forget_apps() -> None:
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]


@pytest.fixture
def http_project(tmp_path, monkeypatch):
    """``async with http_project(files, config) as (app, client)``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    @contextlib.asynccontextmanager
    async def make(
        files: dict[str, str],
        http: dict | None = None,
        *,
        debug: bool = False,
        plugins=("http",),
        adapters: dict | None = None,
    ):
        for rel, source in {"apps/__init__.py": "", "apps/main/__init__.py": "", **files}.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        _forget_apps()
        config = {
            "app": {"plugins": list(plugins), "debug": debug},
            "plugins": {"http": http or {}},
            "adapters": adapters or {},
        }
        try:
            async with boot_app(config, root=tmp_path, environ={}) as app:
                async with http_client(app) as client:
                    yield app, client
        finally:
            _forget_apps()

    return make
