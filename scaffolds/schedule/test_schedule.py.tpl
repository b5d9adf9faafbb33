from mega.testing import fire_schedule

from apps.{{ app }}.schedules.{{ snake }} import {{ Name }}


async def test_{{ snake }}_fires_and_succeeds(app):
    event = await fire_schedule(app, {{ Name }})
    assert event.name == "done", event
    assert event.result["schedule"] == "{{ Name }}"
