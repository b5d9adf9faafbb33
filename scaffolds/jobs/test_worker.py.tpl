from apps.{{ app }}.workers.{{ snake }} import {{ Name }}


async def test_{{ snake }}_runs_in_its_pool(app):
    result = await app.ctx().workers.run({{ Name }}, 10)
    assert result == sum(i * i for i in range(10))
