"""mega's first-party plugins. Each is discovered through the ``mega.plugins`` entry point group,
exactly as a third-party plugin is."""
