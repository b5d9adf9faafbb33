"""Who is on a board, live: the ws plugin's presence through the app's BoardChannel."""

from __future__ import annotations

import httpx
import pytest
from apps.main.services.auth_service import AuthService
from apps.main.services.boards_service import BoardsService

from mega.testing import WsReplyError, serve_http, ws_connect


async def _session_cookie(base_url: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/api/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return f"mega_session={http.cookies['mega_session']}"


async def test_two_users_see_each_other_on_a_board_and_one_leaving(app, member):
    other = await AuthService(app.ctx()).register(
        email="jae@example.com", name="Jae", password="maple-leaf-31"
    )
    board_id = await BoardsService(app.ctx()).create(member["id"], "Live", None, None)
    topic = f"board:{board_id}"
    async with serve_http(app) as url:
        mina = await _session_cookie(url, member["email"], member["password"])
        jae = await _session_cookie(url, "jae@example.com", "maple-leaf-31")
        async with ws_connect(url, headers={"cookie": mina}) as first:
            assert (await first.join(topic))["you"] == "Mina Park"
            async with ws_connect(url, headers={"cookie": jae}) as second:
                await second.join(topic)
                seen = await first.wait_presence(topic, lambda p: len(p) == 2)
                names = sorted(entry["metas"][0]["name"] for entry in seen.values())
                assert names == ["Jae", "Mina Park"]
                assert set(seen) == {str(member["id"]), str(other["id"])}
            left = await first.wait_presence(topic, lambda p: len(p) == 1)
            assert list(left) == [str(member["id"])]


async def test_anonymous_visitors_and_unknown_boards_are_refused(app, member):
    board_id = await BoardsService(app.ctx()).create(member["id"], "Private", None, None)
    async with serve_http(app) as url:
        async with ws_connect(url) as anonymous:
            with pytest.raises(WsReplyError) as refused:
                await anonymous.join(f"board:{board_id}")
            assert refused.value.code == "ws.unauthorized"
        cookie = await _session_cookie(url, member["email"], member["password"])
        async with ws_connect(url, headers={"cookie": cookie}) as signed_in:
            with pytest.raises(WsReplyError) as missing:
                await signed_in.join("board:4242")
            assert missing.value.code == "ws.unauthorized"
