# apps/main/migrations

Migrations, written from the models' diff and applied under a lock.

New one: `mega migrate make <name>  (hand-written: mega g migration <name>)` (plugin `db`, enabled in mega.toml's `[app] plugins`).
