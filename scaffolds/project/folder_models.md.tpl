# apps/main/models

Declarative models: a table each, with fields, indexes and foreign keys; CRUD through `ctx.db()`.

New one: `mega g model <Name>` (plugin `db + sqlite`, enabled in mega.toml's `[app] plugins`).
