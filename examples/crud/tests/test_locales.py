"""en and ko cover the same keys, and every key the app uses exists in both."""

from __future__ import annotations

import json
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "apps" / "main"


def _flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _catalog(lang: str) -> dict[str, str]:
    return _flat(json.loads((APP / "locales" / "server" / f"{lang}.json").read_text("utf-8")))


def test_english_and_korean_have_the_same_keys_and_placeholders():
    en, ko = _catalog("en"), _catalog("ko")
    assert set(en) == set(ko)
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", ko[key])), key


def test_every_key_the_views_and_code_use_is_translated():
    en = _catalog("en")
    used = set()
    for path in [*APP.rglob("*.html"), *APP.rglob("*.py")]:
        text = path.read_text("utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
        used |= set(re.findall(r"""flash\.[a-z_]+""", text))
        for prefix in ("types", "levels"):  # t("types." ~ kind.code): the seeded codes
            if f'"{prefix}." ~' in text:
                used |= {k for k in en if k.startswith(f"{prefix}.")}
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing
    assert len(used) > 60


def _error_codes() -> set[str]:
    """Every error code the app raises or answers with: FieldError, Forbidden, NotFound and
    the rest (services/), the refusals the middleware sends (``fail(…, "code", …)``)."""
    # the auth plugin's refusals: TooManyAttempts, NotSignedIn, RoleRequired
    codes = {"auth.locked", "auth.required", "auth.role_required"}
    raised = r'(?:FieldError|Forbidden|NotFound|AppError)\(\s*"([a-z_.]+)"'
    for path in [*(APP / "services").glob("*.py"), APP / "middleware.py", APP / "web.py"]:
        text = path.read_text("utf-8")
        codes |= set(re.findall(raised, text))
        codes |= set(re.findall(r'fail\(\s*\d+,\s*"([a-z_.]+)"', text))
    return codes


def test_every_error_the_app_raises_is_explained_in_english_and_korean():
    codes = _error_codes()
    assert len(codes) >= 16 and {"users.edit_forbidden", "boards.not_owner"} <= codes
    for lang in ("en", "ko"):
        catalog = _catalog(lang)
        missing = sorted(code for code in codes if f"errors.{code}" not in catalog)
        assert not missing, (lang, missing)
