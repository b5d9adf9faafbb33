# mega-{{ name }}

A mega plugin that registers the `{{ name }}` driver for the `cache` adapter kind.

    pip install -e plugins/{{ name }}
    mega plugins check

Then in `mega.toml`:

    [app]
    plugins = ["{{ name }}"]

    [adapters.cache.default]
    driver = "{{ name }}"
    prefix = "app:"

Run its tests with `cd plugins/{{ name }} && pytest`.
