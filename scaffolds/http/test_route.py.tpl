async def test_{{ snake }}_route_answers(client):
    response = await client.get("/{{ name }}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["route"] == "{{ name }}"
    assert data["request_id"] == response.headers["x-request-id"]
