"""The JavaScript client in a real browser: two tabs of a presence page see each other join and
leave (headless Chromium, driven by Playwright). Screenshots land in the test's tmp folder."""

from __future__ import annotations

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>presence</title>
<script src="/ws/client.js"></script><script src="/static/presence.js" defer></script></head>
<body>
<h1>Online in room:lobby</h1>
<ul id="online"></ul>
<p id="said"></p>
</body></html>
"""

# the default Content-Security-Policy (default-src 'self') forbids inline scripts, as it should
SCRIPT = """
  const user = new URLSearchParams(location.search).get("user");
  const socket = new MegaSocket("/ws");
  const room = socket.channel("room:lobby", {user: user});
  room.onPresence((list) => {
    document.getElementById("online").innerHTML =
      Object.keys(list).sort().map((k) => `<li>${k}</li>`).join("");
  });
  room.on("said", (p) => { document.getElementById("said").textContent = p.text; });
  room.join().then(() => { document.body.dataset.joined = "yes"; });
  window.say = (text) => room.push("say", {text: text});
"""

ROUTE = f'''
from starlette.responses import HTMLResponse

from mega.plugins.http import get

PAGE = """{PAGE}"""


async def presence_page(ctx):
    return HTMLResponse(PAGE)


routes = [get("/presence", presence_page)]
'''


async def test_two_tabs_see_each_other_join_and_leave(ws_app, tmp_path, chromium):
    from playwright.async_api import async_playwright, expect

    routes = tmp_path / "apps/main/routes"
    routes.mkdir(parents=True)
    (routes / "pages.py").write_text(ROUTE)
    (tmp_path / "static").mkdir()
    (tmp_path / "static/presence.js").write_text(SCRIPT)
    http = {"static": {"/static": "static"}}
    async with ws_app(http=http) as (_app, url), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            ada = await browser.new_page()
            await ada.goto(f"{url}/presence?user=ada")
            await expect(ada.locator("#online li")).to_have_text(["ada"])
            bob = await browser.new_page()
            await bob.goto(f"{url}/presence?user=bob")
            for page in (ada, bob):
                await expect(page.locator("#online li")).to_have_text(["ada", "bob"])
            await ada.screenshot(path=str(tmp_path / "1-both-online.png"))
            await bob.evaluate("say('hello from bob')")
            await expect(ada.locator("#said")).to_have_text("hello from bob")
            await bob.close()
            await expect(ada.locator("#online li")).to_have_text(["ada"])
            await ada.screenshot(path=str(tmp_path / "2-bob-left.png"))
        finally:
            await browser.close()
