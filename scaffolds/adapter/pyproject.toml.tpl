[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "mega-{{ name }}"
version = "0.1.0"
description = "A mega plugin providing the '{{ name }}' cache driver."
requires-python = ">=3.11"
dependencies = ["mega-framework"]

# The entry point name is the plugin name: enable it with [app] plugins = ["{{ name }}"].
[project.entry-points."mega.plugins"]
{{ name }} = "mega_{{ snake }}"

[tool.setuptools]
packages = ["mega_{{ snake }}"]

[tool.pytest.ini_options]
pythonpath = ["."]
asyncio_mode = "auto"
