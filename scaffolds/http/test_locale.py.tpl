import json
from pathlib import Path

LOCALES = Path(__file__).resolve().parents[2] / "apps" / "{{ app }}" / "locales" / "server"


def keys(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_locale_{{ snake }}_is_valid_json_with_the_same_keys_as_the_others():
    files = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in LOCALES.glob("*.json")}
    assert "{{ name }}" in files
    mine = set(keys(files["{{ name }}"]))
    for other, tree in files.items():
        assert set(keys(tree)) == mine, f"{other}.json and {{ name }}.json differ in keys"
