"""`mega g channel`, as a user runs it: the generated channel and its test pass as generated."""

from __future__ import annotations

import json


def test_generated_channel_and_its_test_pass(project, enable, mega):
    enable("ws")
    out = mega("g", "channel", "Room", cwd=project).stdout
    assert "created apps/main/channels/room.py" in out
    assert "created tests/main/test_room_channel.py" in out
    result = mega.pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert " failed" not in result.stdout and " skipped" not in result.stdout
    routes = json.loads(mega("routes", "--json", cwd=project).stdout)
    ws = [r for r in routes if r["method"] == "WS"]
    assert [(r["path"], r["handler"], r["plugin"]) for r in ws] == [
        ("/ws", "mega.plugins.ws:WebSocketApp", "ws")
    ]
    assert any(r["path"] == "/ws/client.js" for r in routes)


def test_a_channel_module_that_fails_to_import_is_named(project, enable, mega):
    enable("ws")
    channels = project / "apps/main/channels"
    channels.mkdir(parents=True, exist_ok=True)  # mega new made it
    (channels / "broken.py").write_text("import not_a_module\n")
    result = mega("run", cwd=project, ok=False, timeout=30)
    assert result.returncode != 0
    assert "channel.import_failed" in result.stdout + result.stderr
    assert "broken.py" in result.stdout + result.stderr


def test_two_channels_on_one_topic_pattern_fail_at_boot(project, enable, mega):
    enable("ws")
    channels = project / "apps/main/channels"
    channels.mkdir(parents=True, exist_ok=True)  # mega new made it
    for name in ("a", "b"):
        (channels / f"{name}.py").write_text(
            "from mega.plugins.ws import Channel\n\n"
            f"class {name.upper()}Channel(Channel):\n"
            '    topic = "room:{id}"\n'
        )
    result = mega("run", cwd=project, ok=False, timeout=30)
    assert "ws.duplicate_channel" in result.stdout + result.stderr
