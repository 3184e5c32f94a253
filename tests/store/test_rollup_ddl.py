"""The rollups' migrations are the DDL that openrum/query/rollup.py generates (they cannot
drift)."""

from __future__ import annotations

import importlib.resources

import pytest

from openrum.query import rollup


@pytest.mark.parametrize("migration", rollup.MIGRATIONS)
def test_the_rollup_migrations_are_current(migration: str) -> None:
    path = importlib.resources.files("openrum.store") / "sql" / "clickhouse" / f"{migration}.sql"
    assert path.read_text() == rollup.ddl(migration), (
        f"run: python -m openrum.query.rollup {migration} > "
        f"openrum/store/sql/clickhouse/{migration}.sql"
    )
