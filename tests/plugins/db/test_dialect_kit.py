"""The dialect conformance kit itself: capability flags it honours, its timeouts, where it lives."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import warnings
from typing import Any

import pytest

from mega.plugins.db import dialect_suite
from mega.plugins.db.testing import KitTimeout, case, connected_databases
from mega.plugins.sqlite import SqliteDatabase, SqliteDialect, SqliteOptions


class NoAlterDialect(SqliteDialect):
    name = "sqlite-no-alter"
    capabilities = dataclasses.replace(
        SqliteDialect.capabilities,
        alter_column=False,
        reasons={"alter_column": "this test's dialect says so"},
    )


class NoAlterDatabase(SqliteDatabase):
    dialect = NoAlterDialect()


class HangingDatabase(SqliteDatabase):
    """A driver whose INSERT never returns."""

    async def execute_on(self, conn: Any, sql: str, params: Any) -> int:
        if sql.startswith("INSERT"):
            await asyncio.Event().wait()
        return await super().execute_on(conn, sql, params)


class StuckClose(SqliteDatabase):
    async def close(self) -> None:
        await super().close()
        await asyncio.Event().wait()


def factory(cls: type[SqliteDatabase], path: str) -> Any:
    return connected_databases(lambda: cls(alias="kit", options=SqliteOptions(path=path)))


async def test_a_dialect_without_alter_column_passes_the_ddl_case(tmp_path):
    async with factory(NoAlterDatabase, str(tmp_path / "kit.db")) as make:
        await dialect_suite.test_dialect_ddl_ops_apply_and_introspect_back(
            db_factory=make, kit_timeout=30
        )


async def test_alter_column_off_is_a_clear_refusal_before_any_statement(tmp_path):
    from mega.plugins.db import AlterColumn, DbError, String

    async with factory(NoAlterDatabase, str(tmp_path / "kit.db")) as make:
        db = await make()
        await dialect_suite._tables(db, dialect_suite.KitTeam)
        wider = String(200, nullable=True)
        wider.name = "name"
        with pytest.raises(DbError) as err:
            await db.apply([AlterColumn("kit_teams", wider, target=None)])
        assert err.value.code == "db.unsupported"
        assert "kit_teams.name" in err.value.message
        assert "kit_teams" in await db.introspect()


async def test_a_hanging_primitive_fails_its_case_naming_the_step(tmp_path):
    async with factory(HangingDatabase, str(tmp_path / "kit.db")) as make:
        with pytest.raises(KitTimeout) as err:
            await dialect_suite.test_dialect_every_kind_round_trips(
                db_factory=make, kit_timeout=0.5
            )
    message = str(err.value)
    assert "test_dialect_every_kind_round_trips did not finish within 0.5 s" in message
    assert "`key = await db.insert(KitEverything, row)`" in message
    assert "HangingDatabase.execute_on" in message
    assert "kit_timeout" in message


async def test_a_case_s_own_timeout_error_is_not_the_kit_s():
    @case
    async def raises(kit_timeout: float) -> None:
        raise TimeoutError("the driver's own")

    with pytest.raises(TimeoutError, match="the driver's own") as err:
        await raises(kit_timeout=5)
    assert not isinstance(err.value, KitTimeout)


def test_every_case_asks_for_kit_timeout_besides_its_own_fixtures():
    import inspect

    cases = [n for n in dialect_suite.__all__ if n.startswith("test_dialect_")]
    assert len(cases) >= 27
    for name in cases:
        parameters = inspect.signature(getattr(dialect_suite, name)).parameters
        assert "db_factory" in parameters and "kit_timeout" in parameters, name
    assert (
        "kit_rows"
        in inspect.signature(dialect_suite.test_dialect_insert_many_is_all_or_nothing).parameters
    )


async def test_a_close_that_never_returns_fails_naming_the_adapter(tmp_path):
    with pytest.raises(KitTimeout) as err:
        async with connected_databases(
            lambda: StuckClose(alias="stuck", options=SqliteOptions(path=str(tmp_path / "a"))),
            close_timeout_s=0.2,
        ) as make:
            await make()
    assert "StuckClose(alias='stuck')" in str(err.value)
    assert "ConnectionPool.close()" in str(err.value)


def test_mega_testing_re_exports_the_kit_and_apply_migrations_without_a_warning():
    from mega.plugins.db import testing

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import mega.testing
        from mega.testing import apply_migrations
        from mega.testing import dialect_suite as old

    assert apply_migrations is testing.apply_migrations
    assert old.__all__ == dialect_suite.__all__
    assert old.test_dialect_upsert is dialect_suite.test_dialect_upsert
    with pytest.raises(AttributeError):
        mega.testing.no_such_helper  # noqa: B018


def test_importing_mega_testing_imports_no_plugin():
    code = (
        "import sys, mega.testing; "
        "print(sorted(m for m in sys.modules if m.startswith('mega.plugins')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
