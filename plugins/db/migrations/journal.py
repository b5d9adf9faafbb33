"""Authoring: scan the models, diff them against the journal, write a migration file.

The journal is ``.mega/journal/snapshot.json`` (the schema the migrations so far produce) plus
``.mega/journal/history/<timestamp>-<name>.json`` (the snapshot after each migration). ``make``
diffs the models against the snapshot — never the live database: offline and fast.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from mega import MegaConfigError, discover_classes

from ..model import Model
from ..schema import Table
from .differ import Plan, diff
from .render import render_migration
from .spec import snapshot_of, table_from_spec

NAME_RE = re.compile(r"[a-z0-9_]+")


class Scan(NamedTuple):
    tables: dict[str, Table]
    #: new table name -> previous name (``__renamed_from__``)
    renames: dict[str, str]


def scan_models(root: Path | None, extra: Iterable[type[Model]] = ()) -> Scan:
    """Every concrete model in ``apps/*/models/*.py``, and the ``extra`` ones plugins
    contribute (``registry.contribute("model", name, Model)``), as tables."""
    models = discover_classes(
        root, "models", lambda cls: issubclass(cls, Model) and not cls.__abstract__, what="model"
    )
    models += [model for model in extra if model not in models]
    tables: dict[str, Table] = {}
    renames: dict[str, str] = {}
    for model in models:
        name = model.__table__
        if name in tables:
            raise MegaConfigError(
                "migrate.duplicate_table",
                f"two models use table {name!r} ({model.__module__}.{model.__name__} and "
                "another); give one a different __table__",
                {"table": name},
            )
        tables[name] = model.table_def()
        if model.__renamed_from__:
            renames[name] = model.__renamed_from__
    return Scan(tables, renames)


class Journal:
    """``<root>/.mega/journal`` (``.mega/journal/<alias>`` for a db alias other than default)."""

    def __init__(self, root: Path, alias: str = "default") -> None:
        self.dir = root / ".mega" / "journal"
        if alias != "default":
            self.dir = self.dir / alias
        self.snapshot_path = self.dir / "snapshot.json"

    def tables(self) -> dict[str, Table]:
        if not self.snapshot_path.exists():
            return {}
        data = json.loads(self.snapshot_path.read_text())
        return {name: table_from_spec(spec) for name, spec in data["tables"].items()}

    def record(self, stem: str, tables: dict[str, Table], when: dt.datetime) -> None:
        snapshot = snapshot_of(tables)
        text = json.dumps(snapshot, indent=2, sort_keys=False) + "\n"
        (self.dir / "history").mkdir(parents=True, exist_ok=True)
        self.snapshot_path.write_text(text)
        entry = {"migration": stem, "created_at": when.isoformat(), **snapshot}
        (self.dir / "history" / f"{stem}.json").write_text(json.dumps(entry, indent=2) + "\n")


class Made(NamedTuple):
    path: Path | None
    plan: Plan


def make_migration(
    root: Path,
    name: str,
    *,
    app: str = "main",
    alias: str = "default",
    allow_drop: bool = False,
    confirm: Any = None,
    now: dt.datetime | None = None,
    extra_models: Iterable[type[Model]] = (),
) -> Made:
    """Diff the models against the journal; write ``apps/<app>/migrations/<ts>-<name>.py``.

    Nothing changed → ``Made(None, plan)`` and nothing is written. Destructive ops need
    ``allow_drop``. A drop + add of the same shape (a rename without a hint?) is refused unless
    ``allow_drop`` — or ``confirm(question)`` (interactive) says yes. ``extra_models`` are
    the tables enabled plugins contribute (the jobs outbox), diffed like the app's own.
    """
    if not NAME_RE.fullmatch(name):
        raise MegaConfigError(
            "migrate.invalid_name",
            f"migration name {name!r}: use lower case letters, digits and '_' (e.g. add_users)",
            {"name": name},
        )
    journal = Journal(root, alias)
    scan = scan_models(root, extra_models)
    plan = diff(journal.tables(), scan.tables, scan.renames)
    if plan.empty:
        return Made(None, plan)
    if plan.ambiguous and not allow_drop:
        question = "; ".join(plan.ambiguous)
        if confirm is None or not confirm(f"{question}. Drop and add (data in them is lost)?"):
            raise MegaConfigError(
                "migrate.ambiguous_change",
                f"{question}. If it is a rename, declare renamed_from on the field; if the data "
                "may go, run again with --allow-drop",
                {"ambiguous": plan.ambiguous},
            )
    elif plan.destructive and not allow_drop:
        raise MegaConfigError(
            "migrate.destructive",
            f"this migration would {', '.join(plan.destructive)}, losing data; run again with "
            "--allow-drop to write it",
            {"destructive": plan.destructive},
        )
    when = now or dt.datetime.now(dt.UTC)
    stem = f"{when:%Y%m%d%H%M%S}-{name}"
    folder = root / "apps" / app / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    if path.exists():
        raise MegaConfigError(
            "migrate.exists", f"{path.relative_to(root)} exists already", {"path": str(path)}
        )
    title = name.replace("_", " ")
    path.write_text(render_migration(title, plan.up, plan.down, when))
    journal.record(stem, scan.tables, when)
    return Made(path, plan)
