"""The ws hub's counters on /metrics, after real connections, joins and messages."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mega.testing import ws_connect


def values(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("mega_ws_")
    }


async def test_ws_metrics_after_real_traffic(ws_app):
    async with ws_app(plugins=("http", "ws", "metrics")) as (_app, url):
        async with ws_connect(url) as ada, ws_connect(url) as bob:
            await ada.join("room:1", {"user": "ada"})
            await bob.join("room:1", {"user": "bob"})
            await ada.push("room:1", "say", {"text": "hi"})
            await bob.receive(event="said")
            async with httpx.AsyncClient(base_url=url) as http:
                during = values((await http.get("/metrics")).text)
        async with httpx.AsyncClient(base_url=url) as http:
            after = values((await http.get("/metrics")).text)
    assert during["mega_ws_connections"] == 2
    assert during["mega_ws_connections_opened_total"] == 2
    assert during["mega_ws_joins_total"] == 2
    assert during["mega_ws_messages_in_total"] == 3
    assert during["mega_ws_broadcasts_total"] == 1
    # replies, presence state and diffs, and the broadcast to both
    assert during["mega_ws_messages_out_total"] >= 7
    assert after["mega_ws_connections"] == 0
    assert after["mega_ws_connections_closed_total"] == 2
    assert after["mega_ws_leaves_total"] == 2
    assert after["mega_ws_slow_consumer_disconnects_total"] == 0
