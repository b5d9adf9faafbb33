[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{{ name }}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["mega-framework"]

[project.optional-dependencies]
dev = ["mega-framework[dev]"]

# the app is the apps/ package; templates, locales and mega.toml ship beside it
[tool.setuptools.packages.find]
include = ["apps*"]

[tool.setuptools.package-data]
"*" = ["*.json", "*.html", "*.jinja", "*.sql", "*.md"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
addopts = "--import-mode=importlib"
