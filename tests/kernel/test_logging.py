"""Log lines: JSON off a TTY, the unit of work's ids in every line, the standard library's
records routed through the same pipeline, plugin processors."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from mega.log import (
    LOG_CONTEXT,
    add_log_processor,
    bind_log_context,
    configure_logging,
    get_logger,
)


@pytest.fixture
def lines(capsys):
    """Reconfigure logging onto this test's captured stderr; yield a reader of JSON lines."""
    configure_logging("debug", "json", force=True)

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    yield read
    configure_logging("info", "auto", force=True)


def test_json_lines_carry_the_unit_of_work_s_context(lines):
    log = get_logger(component="test")
    token = bind_log_context(request_id="r-1")
    try:
        log.info("inside", n=1)
    finally:
        LOG_CONTEXT.reset(token)
    log.info("outside")
    inside, outside = lines()
    assert inside["event"] == "inside" and inside["request_id"] == "r-1" and inside["n"] == 1
    assert inside["component"] == "test" and inside["level"] == "info"
    assert "request_id" not in outside


async def test_tasks_keep_their_own_context(lines):
    log = get_logger()

    async def unit(rid: str) -> None:
        bind_log_context(request_id=rid)
        await asyncio.sleep(0.01)
        log.info("done")

    await asyncio.gather(unit("a"), unit("b"))
    done = [line for line in lines() if line["event"] == "done"]
    assert sorted(line["request_id"] for line in done) == ["a", "b"]


def test_standard_library_records_are_routed_through_structlog(lines):
    token = bind_log_context(job="billing.receipts")
    try:
        logging.getLogger("some.library").warning("disk %s is full", "/var")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("other").exception("failed")
    finally:
        LOG_CONTEXT.reset(token)
    warning, error = lines()
    assert warning["event"] == "disk /var is full"
    assert (warning["logger"], warning["level"]) == ("some.library", "warning")
    assert warning["job"] == "billing.receipts"
    assert error["level"] == "error" and "ValueError" in json.dumps(error["exception"])


def test_a_plugin_processor_adds_fields_to_every_line(lines):
    def add_node(logger, method, event):
        event["node"] = "n-7"
        return event

    add_log_processor(add_node)
    try:
        get_logger().info("hello")
        assert lines()[0]["node"] == "n-7"
    finally:
        from mega import log as log_module

        log_module._extra_processors.remove(add_node)
        log_module._structlog_ready = False


def test_values_json_cannot_encode_are_written_as_their_repr(lines):
    class Thing:
        def __repr__(self) -> str:
            return "<Thing 7>"

    get_logger().info("odd", thing=Thing())
    assert lines()[0]["thing"] == "<Thing 7>"


def test_credentials_in_a_logged_url_are_masked(lines):
    access = logging.getLogger("an.access.log")  # any standard-library record
    access.info('%s - "GET %s HTTP/1.1" 101', "127.0.0.1:5", "/ws?token=eyJpZCI6MX0.abc&x=1")
    [line] = lines()
    assert "eyJpZCI6MX0" not in line["event"]
    assert "/ws?token=***&x=1" in line["event"]
