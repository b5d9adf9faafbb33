async def test_app_boots_with_its_configured_cache(app):
    cache = app.ctx().cache()
    await cache.set("greeting", "hello from {{ name }}")
    assert await cache.get("greeting") == "hello from {{ name }}"
    assert app.config.app.name == "{{ name }}"
    assert "memory" in [p.name for p in app.plugins]


async def test_the_home_page_answers(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert response.json()["data"]["app"] == "{{ name }}"
