async def test_app_boots_with_its_configured_cache(app):
    cache = app.ctx().cache()
    await cache.set("greeting", "hello from {{ name }}")
    assert await cache.get("greeting") == "hello from {{ name }}"
    assert app.config.app.name == "{{ name }}"
    assert "memory" in [p.name for p in app.plugins]
