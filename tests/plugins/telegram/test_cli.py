"""``mega plugins`` lists the telegram plugin; config alone enables it."""

from __future__ import annotations

import json

SINK = """
[adapters.log-sink.oncall]
driver = "telegram"
token = "123456:AAH-secret-token-never-logged"
chat_id = -100123
level = "error"
base_url = "http://127.0.0.1:9"
"""


def test_mega_plugins_lists_telegram_and_its_log_sink_driver(mega, project, enable):
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    rows = {row["name"]: row for row in listing["plugins"]}
    assert rows["telegram"]["enabled"] is False
    enable("telegram", extra=SINK)
    listing = json.loads(mega("plugins", "--json", cwd=project).stdout)
    row = {row["name"]: row for row in listing["plugins"]}["telegram"]
    assert row["enabled"] is True and row["distribution"] == "mega-framework"
    assert row["registered"] == ["log-sink driver telegram"]
    check = mega("plugins", "check", cwd=project)
    assert "123456:AAH" not in check.stdout + check.stderr


def test_mega_plugins_check_names_a_bad_key(mega, project, enable):
    enable("telegram", extra=SINK.replace("chat_id = -100123", 'chat_id = "general"'))
    result = mega("plugins", "check", cwd=project, ok=False)
    out = result.stdout + result.stderr
    assert "adapters.log-sink.oncall.chat_id" in out
    assert "123456:AAH" not in out
