"""Migrations duckdb/014 and clickhouse/015: a store written before them (timings as measured,
fractions of a millisecond and all) keeps every row, with its timings rounded to whole ms (CLS
as it was), and answers the dashboard's queries as before."""

from __future__ import annotations

import time

import pytest

from openrum.rows import Batch
from openrum.store.base import Store
from openrum.store.clickhouse import ClickHouseStore
from openrum.store.duckdb import DuckDBStore
from tests.store.conftest import Opener
from tests.store.test_contract import NOW, action, ask, error, table

DUCKDB = 14
CLICKHOUSE = "015_whole_ms_timings.sql"


def _before_the_migration(store: Store, batch: Batch) -> None:
    """Store ``batch`` in a store as it was before the migration: its record undone (and, on
    ClickHouse, its codecs)."""
    if isinstance(store, DuckDBStore):
        # 014 copies `actions` as it was then: a store of before has none of the later
        # migrations' columns and tables either (016: trace_id; 017 and 019: session_key,
        # session_frustrated), which migrate() adds again after it. The rows go in first, as the
        # store writes them now.
        store.write(batch)
        store._con.execute(f"DELETE FROM schema_migrations WHERE version >= {DUCKDB}")
        store._con.execute("ALTER TABLE actions DROP COLUMN trace_id")
        store._con.execute("ALTER TABLE actions DROP COLUMN session_key")
        store._con.execute("ALTER TABLE errors DROP COLUMN trace_id")
        store._con.execute("ALTER TABLE errors DROP COLUMN session_key")
        store._con.execute("DROP TABLE session_frustrated")
    else:
        assert isinstance(store, ClickHouseStore)
        store.t.command(f"DELETE FROM schema_migrations WHERE name = '{CLICKHOUSE}'")
        store.t.command("ALTER TABLE actions MODIFY COLUMN eid UInt64 CODEC(LZ4)")
        store.write(batch)


def _settled(store: Store) -> None:
    """Wait for ClickHouse's mutations (they run in the background)."""
    if isinstance(store, DuckDBStore):
        return
    for _ in range(300):
        _, rows = store.select(
            "SELECT count() FROM system.mutations WHERE database = currentDatabase() "
            "AND NOT is_done",
            [],
        )
        if rows == [(0,)]:
            return
        time.sleep(0.1)
    pytest.fail("the migration's mutation did not finish")


def test_the_migration_rounds_stored_timings(opener: Opener) -> None:
    store = opener()
    rows = [
        action(i, NOW.replace(hour=10, minute=i), duration=1000.4 + i, lcp=2500.5, cls=0.1234,
               inp=96.5, dns=0.3, long_task_ms=51.6)
        for i in range(1, 11)
    ]  # fmt: skip
    _before_the_migration(
        store, Batch(actions=table(rows), errors=table([error(100, NOW.replace(hour=10))]))
    )
    before = ask(store, metrics=["count", "page_views", "errors", "cls:p75"])
    store.migrate()
    _settled(store)
    _, stored = store.select(
        "SELECT eid, duration, lcp, cls, inp, dns, long_task_ms FROM actions ORDER BY eid", []
    )
    assert stored == [(i, 1000.0 + i, 2501.0, 0.1234, 97.0, 0.0, 52.0) for i in range(1, 11)]
    if isinstance(store, DuckDBStore):  # still in the order received (005: re-sent look-ups)
        assert store.select("SELECT eid FROM actions", [])[1] == [(i,) for i in range(1, 11)]
    assert ask(store, metrics=["count", "page_views", "errors", "cls:p75"]) == before
    [row] = ask(store, metrics=["duration:p50", "lcp:p75"], exact=True)
    assert row["lcp:p75"] == 2501.0
    if isinstance(store, ClickHouseStore):
        _, codecs = store.select(
            "SELECT name, compression_codec FROM system.columns WHERE database = "
            "currentDatabase() AND table = 'actions' AND name IN ('eid', 'city')",
            [],
        )
        assert dict(codecs) == {"eid": "CODEC(Delta(8), ZSTD(1))", "city": "CODEC(ZSTD(1))"}
    # Re-sent after it: still stored once.
    store.write(Batch(actions=table(rows[:3])))
    assert store.select("SELECT count(*) FROM actions", [])[1] == [(10,)]
