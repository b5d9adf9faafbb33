"""The `file` log sink: a booted app's events at or above the level land in the file."""

from __future__ import annotations

import json
import logging

from mega.log import bind_log_context, configure_logging
from mega.testing import boot_app


async def test_events_at_or_above_the_level_are_appended_as_json_lines(tmp_path):
    configure_logging("info", "json", force=True)
    path = tmp_path / "logs" / "errors.jsonl"
    config = {
        "app": {"plugins": ["file"]},
        "adapters": {"log-sink": {"oncall": {"driver": "file", "path": str(path)}}},
    }
    async with boot_app(config, environ={}) as app:
        log = app.ctx().log
        bind_log_context(request_id="r-9")
        log.info("routine")  # below the sink's level (warning)
        log.warning("disk.almost_full", free_mb=12)
        logging.getLogger("some.library").error("connection reset")
        log.error("payment.failed", order=7)
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # flushed at close
    assert [line["event"] for line in lines] == [
        "disk.almost_full",
        "connection reset",
        "payment.failed",
    ]
    assert lines[0]["free_mb"] == 12 and lines[0]["level"] == "warning"
    assert lines[0]["request_id"] == "r-9" and "timestamp" in lines[0]
    assert lines[1]["logger"] == "some.library"


async def test_a_full_queue_drops_the_oldest_and_says_how_many(tmp_path):
    configure_logging("info", "json", force=True)
    path = tmp_path / "errors.jsonl"
    config = {
        "app": {"plugins": ["file"]},
        "adapters": {
            "log-sink": {
                "oncall": {"driver": "file", "path": str(path), "max_queued": 3, "flush_ms": 10_000}
            }
        },
    }
    async with boot_app(config, environ={}) as app:
        for i in range(5):
            app.ctx().log.error("burst", i=i)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"event": "log_sink.dropped", "lines": 2, "level": "warning"}
    assert [line["i"] for line in lines[1:]] == [2, 3, 4]
