"""Server-side translations: ``apps/<app>/locales/server/<lang>.json``, negotiated per request.

The locale is the ``locale`` cookie when it names an available language, else the best match of
``Accept-Language``, else the default. ``t(key, **vars)`` falls back to the default language;
a key missing there too renders as ``[missing: key]`` (and is logged once), so a gap is visible
on the page instead of silently blank.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mega import MegaConfigError, get_logger


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


class Translations:
    """Every app's server locales, merged per language."""

    def __init__(self, catalogs: dict[str, dict[str, str]], default: str, cookie: str) -> None:
        self.catalogs = catalogs
        self.default = default
        self.cookie = cookie
        self._reported: set[tuple[str, str]] = set()
        self._log = get_logger(plugin="http", component="i18n")

    @classmethod
    def load(cls, root: Path | None, default: str, cookie: str) -> Translations:
        catalogs: dict[str, dict[str, str]] = {}
        for path in sorted(root.glob("apps/*/locales/server/*.json")) if root else []:
            try:
                tree = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                assert root is not None  # the file was found under it
                raise MegaConfigError(
                    "i18n.invalid_locale_file",
                    f"{path.relative_to(root)} is not valid JSON: {exc}",
                    {"path": str(path)},
                ) from exc
            if not isinstance(tree, dict):
                raise MegaConfigError(
                    "i18n.invalid_locale_file",
                    f"{path.name} must hold a JSON object of keys to strings",
                    {"path": str(path)},
                )
            catalogs.setdefault(path.stem, {}).update(_flatten(tree))
        if catalogs and default not in catalogs:
            raise MegaConfigError(
                "i18n.missing_default_locale",
                f"the default locale {default!r} has no apps/*/locales/server/{default}.json; "
                f"found: {', '.join(sorted(catalogs))}. Add it or set "
                "[plugins.http.i18n] default_locale",
                {"default": default, "found": sorted(catalogs)},
            )
        return cls(catalogs, default, cookie)

    def negotiate(self, cookie: str | None, accept_language: str | None) -> str:
        if cookie and cookie in self.catalogs:
            return cookie
        if accept_language:
            ranked = []
            for part in accept_language.split(","):
                lang, _, q = part.strip().partition(";q=")
                try:
                    weight = float(q) if q else 1.0
                except ValueError:
                    continue
                ranked.append((weight, lang.strip().lower()))
            for _, lang in sorted(ranked, reverse=True):
                for candidate in (lang, lang.split("-")[0]):
                    if candidate in self.catalogs:
                        return candidate
        return self.default

    def translate(self, locale: str, key: str, variables: dict[str, Any]) -> str:
        text = self.catalogs.get(locale, {}).get(key)
        if text is None:
            text = self.catalogs.get(self.default, {}).get(key)
        if text is None:
            if (locale, key) not in self._reported:
                self._reported.add((locale, key))
                self._log.warning("i18n.missing_key", key=key, locale=locale)
            return f"[missing: {key}]"
        return text.format_map(_Keep(variables)) if variables else text
