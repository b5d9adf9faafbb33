# {{ name }}: mega configuration. Reference: docs/config.md in mega's repository.
# Any key can be overridden from the environment: MEGA__APP__DEBUG=true, MEGA__PLUGINS__<NAME>__<KEY>=...

[app]
name = "{{ name }}"
env = "development"
debug = false
# Enabled plugins (any order; the kernel orders them by what they require). `mega plugins` lists
# what is installed.
plugins = ["memory", "http"]

[plugins.http]
port = 8000

# One table per adapter: [adapters.<kind>.<alias>]. ctx.cache() is ctx.cache("default").
[adapters.cache.default]
driver = "memory"
max_entries = 10000

# Background jobs (`mega g job <Name>`, consumed by `mega worker`): add "jobs" to plugins, then
# [adapters.bus.default]
# driver = "local"          # embedded SQLite store; "nats" (servers = [...]) when you outgrow it
