# apps/main/schedules

Cron schedules that fire once across every process, under a lock.

New one: `mega g schedule <Name>` (plugin `schedule`, enabled in mega.toml's `[app] plugins`).
