from apps.{{ app }}.services.{{ snake }}_service import {{ Name }}Service


async def test_{{ snake }}_service_describes_itself(app):
    service = {{ Name }}Service(app.ctx())
    described = await service.describe()
    assert described == {"service": "{{ name }}", "app": app.config.app.name}
