# apps/main/views

Jinja2 templates (`*.html`) rendered by controllers with `ctx.render(...)`.

New one: `write them by hand` (plugin `http`, enabled in mega.toml's `[app] plugins`).
