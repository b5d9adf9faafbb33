# apps/main/jobs

Durable jobs with retries, a timeout and a dead-letter queue; `mega worker` runs them.

New one: `mega g job <Name>` (plugin `jobs`, enabled in mega.toml's `[app] plugins`).
