"""Migrations: model scan → journal snapshot → differ → migration files; a runner with the
database's migration lock, checksums and per-capability transactions. See docs/migrations.md.

Migration files (``apps/<app>/migrations/<timestamp>-<name>.py``) are written in ``op.*``
calls and define ``migration = Migration(up=[...], down=[...])``.
"""

from __future__ import annotations

from . import ops as op
from .differ import Plan, Schema, diff
from .journal import Journal, Made, make_migration, scan_models
from .ops import Migration
from .render import render_migration, render_op
from .runner import MigrateError, MigrationRecord, Migrator, Status, load_migrations
from .spec import table_from_spec, table_to_spec

__all__ = [
    "Journal",
    "Made",
    "MigrateError",
    "Migration",
    "MigrationRecord",
    "Migrator",
    "Plan",
    "Schema",
    "Status",
    "diff",
    "load_migrations",
    "make_migration",
    "op",
    "render_migration",
    "render_op",
    "scan_models",
    "table_from_spec",
    "table_to_spec",
]
