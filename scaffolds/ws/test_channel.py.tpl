from mega.testing import serve_http, ws_connect


async def test_{{ snake }}_channel_broadcasts_and_tracks_presence(app):
    async with serve_http(app) as url, ws_connect(url) as ada, ws_connect(url) as bob:
        assert await ada.join("{{ snake }}:1", {"name": "ada"}) == {"topic": "{{ snake }}:1"}
        await bob.join("{{ snake }}:1", {"name": "bob"})
        await ada.wait_presence("{{ snake }}:1", lambda p: set(p) == {"ada", "bob"})

        assert await bob.push("{{ snake }}:1", "say", {"text": "hi"}) == {"sent": True}
        frame = await ada.receive(type="event", event="said")
        assert frame["payload"] == {"text": "hi"}
