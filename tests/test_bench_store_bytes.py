"""bench/store_bytes measures what a store holds: every column of the real schema, summing to
about the store's size."""

from __future__ import annotations

from pathlib import Path

from bench.query import fill
from bench.store_bytes import duckdb_columns
from openrum.store.duckdb import DuckDBStore


def test_duckdb_columns_sum_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bench.duckdb"
    store = DuckDBStore(path)
    try:
        fill(store, 20_000)
        columns = duckdb_columns(store)
    finally:
        store.close()
    assert columns["actions.duration"]["type"] == "DOUBLE"
    assert {"actions.session_id", "errors.message", "sessions.entry_page"} <= set(columns)
    total = sum(c["bytes"] for c in columns.values())
    assert 0.5 * path.stat().st_size < total <= path.stat().st_size
