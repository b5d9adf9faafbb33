# apps/main/controllers

Controllers: classes whose methods handle requests (`ctx` plus validated path, query and body values).

New one: `mega g controller <name>` (plugin `http`, enabled in mega.toml's `[app] plugins`).
