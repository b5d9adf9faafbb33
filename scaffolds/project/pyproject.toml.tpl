[project]
name = "{{ name }}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["mega-framework"]

[project.optional-dependencies]
dev = ["mega-framework[dev]"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
addopts = "--import-mode=importlib"
