{% if driver == "mongo" %}{% include "test_model_mongo.py.tpl" %}{% else %}from mega.testing import scratch_db

from apps.{{ app }}.models.{{ snake }} import {{ Name }}


async def test_{{ snake }}_crud():
    async with scratch_db({{ Name }}) as db:
        key = await db.insert({{ Name }}, {"name": "first", "notes": "hello"})
        row = await db.get({{ Name }}, key)
        assert row is not None and row["name"] == "first"

        await db.update({{ Name }}, {"name": "renamed"}, {{ Name }}.id == key)
        found = await db.find({{ Name }}, {{ Name }}.name.startswith("ren"))
        assert [r["id"] for r in found] == [key]

        assert await db.delete({{ Name }}, {{ Name }}.id == key) == 1
        assert await db.count({{ Name }}) == 0


def test_{{ snake }}_validates_input():
    assert {{ Name }}.validate({"name": "ok"}) == {"name": "ok"}
    assert "name" in {{ Name }}.json_schema()["required"]
{% endif %}