"""The db plugin's extension points (``PluginSpec(hooks=...)``): implement them with
``@mega.hookimpl`` in any plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mega import hookspec

if TYPE_CHECKING:
    from mega import App

    from .database import Database
    from .model import Model

#: ``wrap(database, sql)``: a context manager around one statement's execution (its text,
#: never its parameters); ``database.alias`` and ``database.dialect.name`` say where it runs
QueryWrapper = Callable[["Database", str], AbstractContextManager[Any]]


@hookspec
def mega_db_wrap_query(app: App) -> QueryWrapper | None:
    """A context manager factory around every statement on every db adapter (see
    ``QueryWrapper``), collected once when the app boots; several nest in plugin order, the
    first outermost. With none, a statement pays nothing for it."""


@hookspec
def mega_db_models(app: App) -> Iterable[type[Model]] | None:
    """Models this plugin keeps tables for (the jobs outbox): ``mega migrate make`` puts them
    into the project's migrations like its own models. Called without booting the app."""
