from mega.testing import run_job

from apps.{{ app }}.jobs.{{ snake }} import {{ Name }}


async def test_{{ snake }}_runs(app):
    result = await run_job(app, {{ Name }}, {"id": 42})
    assert result == {"job": "{{ Name }}", "received": {"id": 42}}
