# apps/main/locales

Translations: `locales/server/<lang>.json`, used by `ctx.t("key")` and in views.

New one: `mega g locale <lang>` (plugin `http`, enabled in mega.toml's `[app] plugins`).
