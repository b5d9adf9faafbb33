"""The apps of {{ name }}: one package per app (`mega g app <name>`)."""
