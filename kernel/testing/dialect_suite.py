"""The dialect conformance kit, under its older name: the kit lives with the ``db`` plugin, in
``mega.plugins.db.dialect_suite`` (see docs/dialects.md); this module re-exports it.

    from mega.testing.dialect_suite import *  # noqa: F403
    from mega.testing.dialect_suite import connected_databases
"""

from __future__ import annotations

from mega.plugins.db import dialect_suite as _kit
from mega.plugins.db.dialect_suite import *  # noqa: F403

__all__ = list(_kit.__all__)
