"""The apps of crud: one package per app (`mega g app <name>`)."""
