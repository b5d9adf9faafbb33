"""Reading the app's HTML pages in tests, as a browser would."""

from __future__ import annotations

import re
from typing import Any

import httpx


class Browser:
    """A client that behaves like a browser on the HTML pages: keeps the session cookie, reads
    the CSRF token off the form it was served, follows redirects."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, follow_redirects=True, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def submit(self, path: str, data: dict[str, Any], files: Any = None) -> httpx.Response:
        response = await self.http.post(path, data={"csrf_token": self.csrf, **data}, files=files)
        if response.is_redirect:
            return await self.get(response.headers["location"])
        return response

    async def login(self, email: str, password: str) -> httpx.Response:
        await self.get("/login")
        return await self.submit("/login", {"email": email, "password": password})


def errors_on(page: httpx.Response) -> list[str]:
    """The error messages a rendered form shows."""
    return re.findall(r'class="error"[^>]*>([^<]+)<', page.text)


def flash_on(page: httpx.Response) -> str | None:
    found = re.search(r'class="flash"[^>]*>([^<]+)<', page.text)
    return found.group(1) if found else None
