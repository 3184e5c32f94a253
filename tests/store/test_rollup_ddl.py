"""The rollups' migration is the DDL that openrum/query/rollup.py generates (they cannot drift)."""

from __future__ import annotations

import importlib.resources

from openrum.query import rollup


def test_the_rollup_migration_is_current() -> None:
    path = importlib.resources.files("openrum.store") / "sql" / "clickhouse" / "004_rollups.sql"
    assert path.read_text() == rollup.ddl(), (
        "run: python -m openrum.query.rollup > " + "openrum/store/sql/clickhouse/004_rollups.sql"
    )
