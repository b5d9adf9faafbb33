async def test_{{ snake }}_index_show_and_create(client):
    listed = await client.get("/{{ name }}", params={"limit": 5})
    assert listed.json() == {"ok": True, "data": {"items": [], "limit": 5}}
    shown = await client.get("/{{ name }}/3")
    assert shown.json()["data"] == {"id": 3}
    created = await client.post("/{{ name }}", json={"name": "first"})
    assert created.status_code == 201
    invalid = await client.post("/{{ name }}", json={"name": ""})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"]["errors"][0]["field"] == "body.name"
