"""``python -m mega``: the same as the ``mega`` command."""

from mega.cli import main

main()
