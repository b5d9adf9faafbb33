"""The browser client in headless Chromium: agree a key in WebCrypto (X25519, and P-256 for
browsers without it), send sealed requests, open sealed answers, and talk over a sealed socket
with a Python client in the same room. Screenshots land in build/artifacts/secure/
(MEGA_ARTIFACTS overrides build/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mega.plugins.secure import SecureClient
from mega.testing import WsClient

from .conftest import secure_config

REPO = Path(__file__).resolve().parents[3]

PAGE_ROUTE = '''
from starlette.responses import HTMLResponse

from mega.plugins.http import get

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>secure</title>
<script src="/secure/client.js"></script><script src="/static/secure-page.js" defer></script>

</head><body>
<h1>mega secure: sealed HTTP and WebSocket from the browser</h1>
<dl>
<dt>key agreement</dt><dd id="alg">…</dd>
<dt>key id (ticket)</dt><dd id="kid">…</dd>
<dt>POST /api/secure/notes (sealed)</dt><dd id="post">…</dd>
<dt>GET /api/secure/notes/5?verbose=true (sealed)</dt><dd id="get">…</dd>
<dt>the same POST in the clear</dt><dd id="plain">…</dd>
<dt>a request replayed by the page</dt><dd id="replay">…</dd>
<dt>socket: join room:web</dt><dd id="join">…</dd>
<dt>socket: push say</dt><dd id="push">…</dd>
<dt>socket: said (last event)</dt><dd id="said">…</dd>
<dt>error</dt><dd id="error"></dd>
</dl></body></html>"""


async def page(ctx):
    return HTMLResponse(PAGE)


routes = [get("/secure-page", page)]
'''

# the default Content-Security-Policy (default-src 'self') forbids inline scripts
SCRIPT = """
(async () => {
  const show = (id, value) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    document.getElementById(id).textContent = text;
  };
  const alg = new URLSearchParams(location.search).get("alg") || undefined;
  const secure = await MegaSecure.agree({alg: alg});
  show("alg", secure.alg + (await MegaSecure.hasX25519() ? " (this browser has X25519)" : ""));
  show("kid", secure.kid.slice(0, 40) + "…");
  const created = await secure.fetch("/api/secure/notes",
    {method: "POST", json: {text: "from the browser"}});
  show("post", {status: created.status, sealed: created.sealed, body: created.body});
  const shown = await secure.fetch("/api/secure/notes/5?verbose=true");
  show("get", {status: shown.status, sealed: shown.sealed, data: shown.body.data});
  const plain = await fetch("/api/secure/notes", {
    method: "POST", headers: {"content-type": "application/json"}, body: '{"text": "x"}'});
  show("plain", plain.status + " " + (await plain.json()).error.code);
  const envelope = await secure.seal(new TextEncoder().encode('{"text": "twice"}'),
    (ts, kid) => ["req", "POST", "/api/secure/notes", ts, kid]);
  const send = () => fetch("/api/secure/notes", {method: "POST",
    headers: {"content-type": "application/vnd.mega.secure+json"}, body: envelope.text});
  const first = await send(), second = await send();
  show("replay", first.status + " then " + second.status + " " + (await second.json()).error.code);
  const socket = secure.socket("/ws");
  socket.on("room:web", "said", (payload) => show("said", payload.text));
  show("join", await socket.join("room:web"));
  document.body.dataset.joined = "yes";
  show("push", await socket.push("room:web", "say", {text: "sealed hello from " + secure.alg}));
  document.body.dataset.done = "yes";
})().catch((e) => {
  document.getElementById("error").textContent = (e.code || "") + " " + e.message;
});
"""


def _artifacts() -> Path:
    folder = Path(os.environ.get("MEGA_ARTIFACTS") or REPO / "build" / "artifacts") / "secure"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("alg", ["x25519", "p256"])
async def test_the_browser_exchanges_sealed_messages_over_http_and_a_socket(
    secure_app, keys, tmp_path, chromium, alg
):
    from playwright.async_api import async_playwright, expect

    (tmp_path / "apps/main/routes/page.py").write_text(PAGE_ROUTE)
    (tmp_path / "static").mkdir()
    (tmp_path / "static/secure-page.js").write_text(SCRIPT)
    config = secure_config(keys)
    config["plugins"]["http"] = {"static": {"/static": "static"}}
    async with secure_app(config, serve=True) as (_app, url), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            wire: list[str] = []
            page.on("websocket", lambda ws: ws.on("framesent", lambda f: wire.append(str(f))))
            query = "" if alg == "x25519" else "?alg=p256"
            await page.goto(f"{url}/secure-page{query}")
            await expect(page.locator("body")).to_have_attribute("data-joined", "yes")
            # Chromium 156 has X25519 in WebCrypto: the default picks it
            await expect(page.locator("#alg")).to_contain_text(alg)
            await expect(page.locator("#alg")).to_contain_text("this browser has X25519")
            await expect(page.locator("#post")).to_contain_text('"sealed":true')
            await expect(page.locator("#post")).to_contain_text('"text":"from the browser"')
            await expect(page.locator("#get")).to_contain_text('"verbose":true,"sealed":true')
            await expect(page.locator("#plain")).to_have_text("400 secure.required")
            await expect(page.locator("#replay")).to_have_text("201 then 401 secure.replayed")

            # a Python client with a key of its own in the same room
            async with (
                await SecureClient.agree(url) as python,
                python.websocket("/ws") as socket,
            ):
                other = WsClient(socket)
                await other.join("room:web")
                await expect(page.locator("body")).to_have_attribute("data-done", "yes")
                await other.push("room:web", "say", {"text": "sealed hello from python"})
                await expect(page.locator("#said")).to_have_text("sealed hello from python")
            await expect(page.locator("#error")).to_have_text("")
            assert wire and all('"ct":' in frame and "room:web" not in frame for frame in wire)
            await page.screenshot(path=str(_artifacts() / f"browser-{alg}.png"), full_page=True)
        finally:
            await browser.close()
