"""The `telegram` log sink against a local Bot API server: batching, splitting, escaping, 429s,
a bounded queue, the flush at shutdown, and a token that never shows."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from mega import MegaConfigError
from mega.log import configure_logging
from mega.plugins.telegram.message import MESSAGE_LIMIT, units
from mega.testing import boot_app


@pytest.fixture(autouse=True)
def _json_logs():
    configure_logging("info", "json", force=True)


async def test_events_at_or_above_the_level_are_batched_into_one_message(bot_api, sink_config):
    async with boot_app(sink_config(batch_ms=200), environ={}) as app:
        log = app.ctx().log
        log.info("routine")  # below the sink's level (warning)
        log.warning("disk.almost_full", free_mb=12)
        logging.getLogger("some.library").error("connection reset")
        log.error("payment.failed", order=7)
        await asyncio.sleep(0.5)
    assert len(bot_api.requests) == 1
    sent = bot_api.requests[0]
    assert sent["chat_id"] == -100123 and sent["parse_mode"] == "HTML"
    text = sent["text"]
    assert "routine" not in text
    assert text.index("disk.almost_full") < text.index("connection reset")
    assert text.index("connection reset") < text.index("payment.failed")
    assert "<b>WARNING</b> disk.almost_full" in text and "free_mb: 12" in text
    assert "order: 7" in text


async def test_values_are_escaped_for_html_and_tracebacks_are_preformatted(bot_api, sink_config):
    async with boot_app(sink_config(title="shop <prod>"), environ={}) as app:
        log = app.ctx().log
        log.error("<script>alert(1)</script>", query="a < b && c > d")
        try:
            raise ValueError("bad <value>")
        except ValueError:
            log.exception("job.failed")
    text = "\n".join(bot_api.texts)
    assert "<b>shop &lt;prod&gt;</b>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    assert "query: a &lt; b &amp;&amp; c &gt; d" in text
    assert "<pre>Traceback" in text and "ValueError: bad &lt;value&gt;</pre>" in text


async def test_long_batches_and_long_events_are_split_at_the_message_limit(bot_api, sink_config):
    async with boot_app(sink_config(batch_ms=100), environ={}) as app:
        log = app.ctx().log
        for i in range(20):
            log.error("burst", i=i, detail="x" * 400)
        log.error("huge", body="&" * 5000 + "🙂" * 3000)
    texts = bot_api.texts
    assert len(texts) >= 4
    assert all(units(t) <= MESSAGE_LIMIT for t in texts)
    joined = "\n".join(texts)
    order = [joined.index(f"i: {i}\n") for i in range(20)]
    assert order == sorted(order)
    # split between entities, never inside one; every character arrives
    assert joined.count("&amp;") == 5000 and joined.replace("&amp;", "").count("&") == 0
    assert joined.count("🙂") == 3000


async def test_a_429_is_retried_after_the_retry_after_it_asks_for(bot_api, sink_config):
    too_many = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    bot_api.replies.append((429, too_many))
    async with boot_app(sink_config(), environ={}) as app:
        app.ctx().log.error("payment.failed")
        for _ in range(100):
            if bot_api.requests:
                break
            await asyncio.sleep(0.05)
        sink = app.adapters.get("log-sink", "chat")
    assert len(bot_api.times) == 2 and len(bot_api.requests) == 1
    assert bot_api.times[1] - bot_api.times[0] >= 0.95
    assert sink.sent == 1 and sink.failed == 0


async def test_a_full_queue_drops_new_events_counts_them_and_says_so(bot_api, sink_config):
    config = sink_config(max_queued=3, batch_ms=60_000)
    async with boot_app(config, environ={}) as app:
        for i in range(5):
            app.ctx().log.error("burst", i=i)
        sink = app.adapters.get("log-sink", "chat")
        assert sink.dropped == 2 and not bot_api.requests  # nothing blocked, nothing sent yet
    (text,) = bot_api.texts
    assert text.startswith("⚠️ 2 events dropped: the queue was full")
    assert [f"i: {i}" in text for i in range(5)] == [True, True, True, False, False]


async def test_shutdown_flushes_what_is_queued_without_waiting_for_the_batch(bot_api, sink_config):
    async with boot_app(sink_config(batch_ms=60_000), environ={}) as app:
        app.ctx().log.critical("going.down")
        began = time.monotonic()
    assert time.monotonic() - began < 2
    assert len(bot_api.requests) == 1 and "going.down" in bot_api.texts[0]


async def test_shutdown_gives_up_at_the_flush_deadline_and_counts_what_was_lost(
    bot_api, sink_config, capfd
):
    bot_api.delay_s = 5
    config = sink_config(batch_ms=60_000, flush_timeout_ms=300)
    async with boot_app(config, environ={}) as app:
        app.ctx().log.error("slow.api")
        sink = app.adapters.get("log-sink", "chat")
        began = time.monotonic()
    assert time.monotonic() - began < 2
    assert sink.sent == 0 and sink.failed + sink.dropped >= 1
    assert "telegram log sink 'chat'" in capfd.readouterr().err


async def test_events_logged_from_other_threads_are_sent(bot_api, sink_config):
    async with boot_app(sink_config(), environ={}):
        await asyncio.to_thread(logging.getLogger("worker").error, "from a thread")
        for _ in range(100):
            if bot_api.requests:
                break
            await asyncio.sleep(0.02)
        assert bot_api.requests and "from a thread" in bot_api.texts[0]


async def test_the_token_shows_in_no_repr_dump_log_or_error(bot_api, sink_config, token, capfd):
    # debug: httpx and httpcore log each request, and the request path holds the token
    async with boot_app(sink_config(level="debug"), environ={}) as app:
        logging.getLogger("httpx").setLevel(logging.DEBUG)
        app.ctx().log.error("first")
        await asyncio.sleep(0.3)
        sink = app.adapters.get("log-sink", "chat")
        shown = [repr(sink), repr(sink.options), str(sink.options), sink.options.model_dump_json()]
    assert len(bot_api.requests) == 1  # its own request logs did not come back to it
    # refused and unreachable: the failures are reported without the token
    bot_api.replies.append((400, {"ok": False, "description": f"Bad Request: {token}"}))
    async with boot_app(sink_config(), environ={}) as app:
        app.ctx().log.error("refused")
    async with boot_app(sink_config(base_url="http://127.0.0.1:9", max_retries=0), environ={}):
        logging.getLogger("x").error("unreachable")
    out, err = capfd.readouterr()
    assert "sendMessage refused (HTTP 400" in err and "sendMessage failed (ConnectError" in err
    for text in [*shown, out, err]:
        assert token not in text
    assert "**********" in shown[3]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("chat_id", "general", "integer chat id or a '@channelname'"),
        ("base_url", "ftp://api.telegram.org", "http:// or https://"),
        ("max_queued", 0, "greater than or equal to 1"),
        ("level", "loud", "'debug', 'info', 'warning', 'error' or 'critical'"),
    ],
)
def test_bad_config_is_an_error_naming_the_key(sink_config, token, key, value, expected):
    from mega import App

    with pytest.raises(MegaConfigError) as caught:
        App.from_dict(sink_config(**{key: value}), environ={})
    message = str(caught.value)
    assert f"adapters.log-sink.chat.{key}" in message and expected in message
    assert token not in message and token not in json.dumps(caught.value.to_dict(), default=str)


def test_a_missing_token_is_an_error_naming_the_key(sink_config):
    from mega import App

    config = sink_config()
    del config["adapters"]["log-sink"]["chat"]["token"]
    with pytest.raises(MegaConfigError, match=r"adapters\.log-sink\.chat\.token"):
        App.from_dict(config, environ={})


async def test_the_token_can_come_from_the_environment(bot_api, sink_config, token):
    config = sink_config()
    del config["adapters"]["log-sink"]["chat"]["token"]
    environ = {"MEGA__ADAPTERS__LOG-SINK__CHAT__TOKEN": token}
    async with boot_app(config, environ=environ) as app:
        app.ctx().log.error("from.env")
    assert bot_api.paths == [f"/bot{token}/sendMessage"] and len(bot_api.requests) == 1


async def test_the_apps_shutdown_deadline_bounds_the_flush(bot_api, sink_config):
    from mega import MegaShutdownError

    bot_api.delay_s = 5
    config = sink_config(batch_ms=60_000, flush_timeout_ms=30_000)
    config["app"]["shutdown_timeout_ms"] = 300
    began = time.monotonic()
    with pytest.raises(MegaShutdownError, match=r"adapter log-sink\.chat close"):
        async with boot_app(config, environ={}) as app:
            app.ctx().log.error("slow.api")
            sink = app.adapters.get("log-sink", "chat")
            began = time.monotonic()
    assert time.monotonic() - began < 2
    assert sink.sent == 0 and sink.failed == 1 and sink._client is None
