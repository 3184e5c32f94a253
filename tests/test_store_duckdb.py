"""The DuckDB store: migrations, applications, session merging, reopening a file."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from openrum.rows import Batch, SessionTouch
from openrum.store import open_store
from openrum.store.base import App, StoreError
from openrum.store.duckdb import DuckDBStore
from tests.store.test_contract import action, error, ms, table


def test_migrations_apply_once_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    first = DuckDBStore(path)
    version = first.migrate()
    first.create_app(App(id="shop", name="Shop", origins=["https://shop.example"], created=5))
    first.close()
    again = open_store(f"duckdb:///{path}")
    assert isinstance(again, DuckDBStore)
    assert again.migrate() == version
    assert [a.id for a in again.list_apps()] == ["shop"]
    again.close()


def test_applications(store: DuckDBStore) -> None:
    app = App(
        id="shop",
        name="Shop",
        origins=["https://shop.example"],
        created=1000,
        config={"sampling": 50},
    )
    store.create_app(app)
    with pytest.raises(StoreError, match="exists"):
        store.create_app(app)
    app.origins.append("https://www.shop.example")
    app.config["sampling"] = 25
    store.update_app(app)
    assert store.list_apps() == [app]
    with pytest.raises(StoreError, match="no application"):
        store.update_app(App(id="nope", name="x", origins=[], created=0))


def touch(start: int, last: int, page: str, **kw: object) -> SessionTouch:
    return SessionTouch(
        app="shop",
        session_id="s1",
        start=start,
        last_seen=last,
        last_received=last,
        entry_page=page,
        exit_page=page,
        **kw,
    )  # type: ignore[arg-type]


def sessions(*touches: SessionTouch) -> Batch:
    rows = []
    for t in touches:
        row = msgspec.structs.asdict(t)
        for name in ("start", "last_seen", "last_received"):
            row[name] = dt.datetime.fromtimestamp(row[name] / 1000, dt.UTC).replace(tzinfo=None)
        rows.append(row)
    return Batch(sessions=pa.Table.from_pylist(rows))


def test_session_touches_merge_in_any_order(store: DuckDBStore) -> None:
    # One touch per session and batch (the batch step groups by session).
    store.write(sessions(touch(5000, 6000, "/b")))
    store.write(sessions(touch(9000, 9500, "/c", user_tag="u1")))
    store.write(sessions(touch(1000, 2000, "/a", ended=True)))
    store.write(sessions(touch(1000, 2000, "/a")))  # re-sent: no change
    _, rows = store.select(
        "SELECT epoch_ms(start), epoch_ms(last_seen), entry_page, exit_page, "
        "user_tag, ended FROM sessions",
        [],
    )
    assert rows == [(1000, 9500, "/a", "/c", "u1", True)]


def test_an_unknown_store_url_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://localhost/x")


# -- re-sent events and sessions without an index (migrations 005 and 006) ------------------------
def _counts(store: DuckDBStore) -> tuple[object, ...]:
    _, rows = store.select(
        "SELECT (SELECT count(*) FROM actions), (SELECT sum(seq) FROM actions), "
        "(SELECT count(*) FROM errors), (SELECT sum(rows) FROM actions_1h)",
        [],
    )
    return rows[0]


def test_resends_are_found_among_rows_received_within_the_window(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "x.duckdb", resend_window_s=3600)
    t = dt.datetime(2026, 11, 20, 12)
    first = Batch(actions=table([action(1, t)]), errors=table([error(2, t)]))
    store.write(first)
    # Sent again 50 minutes later, with a higher seq: the action is replaced, the error kept once.
    later = ms(t) + 50 * 60_000
    store.write(
        Batch(
            actions=table([action(1, t, seq=2, received=later)]),
            errors=table([error(2, t, received=later)]),
        )
    )
    assert _counts(store) == (1, 2, 1, 1)
    # The same beacon replayed from the spool after a crash: it keeps its receive time.
    store.write(first)
    assert _counts(store) == (1, 2, 1, 1)
    # A copy received more than the window after the first is stored again (the agent starts a
    # new session, and so new event keys, before that).
    much_later = ms(t) + 3 * 3600_000
    store.write(Batch(errors=table([error(2, t, received=much_later)])))
    assert _counts(store) == (1, 2, 2, 1)
    store.close()


def test_an_event_twice_in_one_batch_is_stored_once_the_latest_copy(store: DuckDBStore) -> None:
    # Batches joined into one write (the writer's isolation of a failing beacon) can hold a
    # beacon and its re-send: the action with the higher seq is kept, the error once.
    t = dt.datetime(2026, 11, 20, 12)
    store.write(
        Batch(
            actions=table([action(1, t, seq=2, duration=900.0), action(1, t, duration=100.0)]),
            errors=table([error(2, t), error(2, t)]),
        )
    )
    assert _counts(store) == (1, 2, 1, 1)
    assert store.select("SELECT duration FROM actions", [])[1] == [(900.0,)]


def test_sessions_are_found_among_rows_received_within_the_window(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "x.duckdb", resend_window_s=3600)
    hour = 3600_000
    store.write(sessions(touch(1000, 2000, "/a")))
    store.write(sessions(touch(1000, 2000 + 50 * 60_000, "/b")))  # 50 minutes later: merged
    # Touched again more than the window after its last beacon: a new row (the agent starts a
    # new session after 30 minutes without a beacon, so it never sends such a touch).
    store.write(sessions(touch(1000, 2000 + 3 * hour, "/c")))
    _, rows = store.select("SELECT entry_page, exit_page FROM sessions ORDER BY last_received", [])
    assert rows == [("/a", "/b"), ("/c", "/c")]
    store.close()


def test_no_table_keeps_an_index_that_grows_with_the_store(store: DuckDBStore) -> None:
    _, rows = store.select(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        [],
    )
    tables = {name for (name,) in rows}
    assert "applications" in tables  # a constraint query that finds keys where there are some
    assert not tables & {"actions", "errors", "user_events", "sessions"}


def test_a_version_4_store_keeps_its_rows(tmp_path: Path) -> None:
    """A file written before migration 005 (primary keys on `eid`, and on the sessions) is copied
    in receive order."""
    import duckdb

    path = tmp_path / "v4.duckdb"
    sql = Path(__file__).parents[1] / "openrum" / "store" / "sql" / "duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied TIMESTAMP NOT NULL)"
    )
    for version, name in enumerate(sorted(p.name for p in sql.glob("00[1-4]_*.sql")), 1):
        con.execute((sql / name).read_text())
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    t = dt.datetime(2026, 11, 20, 12)
    rows = table([action(2, t, received=ms(t) + 9000), action(1, t)])
    con.register("batch", rows.drop_columns(["trigger", "trace_id"]))  # later columns (007, 016)
    con.execute("INSERT INTO actions BY NAME SELECT * FROM batch")
    con.register("touched", sessions(touch(ms(t), ms(t) + 9000, "/a")).sessions)
    con.execute("INSERT INTO sessions BY NAME SELECT * FROM touched")
    con.close()
    store = DuckDBStore(path)
    # Every migration since, up to the newest.
    assert store.migrate() == max(int(p.name.split("_", 1)[0]) for p in sql.glob("*.sql"))
    [(applied,)] = store.select("SELECT count(*) FROM schema_migrations", [])[1]
    assert applied == len(list(sql.glob("*.sql")))
    _, found = store.select("SELECT eid, trigger FROM actions", [])
    assert found == [(1, None), (2, None)]  # in the order received
    store.rebuild_rollups()
    store.write(Batch(actions=table([action(1, t, seq=2)])))  # found without the index
    assert _counts(store) == (2, 3, 0, 2)
    # Each action's session number (017): given to the stored rows, and to the version written.
    _, keys = store.select(
        "SELECT eid, seq, session_key = md5_number_lower(session_id) FROM actions ORDER BY eid", []
    )
    assert keys == [(1, 2, True), (2, 1, True)]
    store.write(sessions(touch(ms(t), ms(t) + 20_000, "/b")))  # and the session
    _, rows = store.select("SELECT entry_page, exit_page FROM sessions", [])
    assert rows == [("/a", "/b")]
    store.close()


def test_a_store_stopped_by_a_fatal_error_is_opened_again(tmp_path: Path) -> None:
    """Out of memory in a checkpoint, DuckDB stops the database: the write fails with a
    StoreError (the writer retries it), and the next write works on the file opened again."""
    store = DuckDBStore(tmp_path / "x.duckdb", memory_limit="32MB", checkpoint="1MB")
    reader = store.select("SELECT 1", [])  # a reader thread's cursor on the first connection
    t = dt.datetime(2026, 11, 20, 12)
    n = 20_000

    def actions(first: int, count: int) -> Batch:
        rows = [action(i, t + dt.timedelta(seconds=i)) for i in range(first, first + count)]
        return Batch(actions=table(rows))

    store.write(actions(0, n))
    with pytest.raises(StoreError, match="checkpoint"):
        store.write(actions(n, n))  # its checkpoint needs more than 32 MB
    store.write(actions(n, 10))
    assert store.select("SELECT count(*) FROM actions", []) == (["count_star()"], [(n + 10,)])
    assert store.select("SELECT 1", []) == reader
    store.close()


def test_at_rest_the_store_gives_its_block_cache_back(tmp_path: Path) -> None:
    """Issue #23: after a load the server kept the blocks DuckDB had read or written (up to
    store_memory_mb) for as long as it ran: 275 MB at rest after 60 s at 2,000 beacons/s."""
    store = DuckDBStore(tmp_path / "x.duckdb")
    store._con.execute(
        "CREATE TABLE t AS SELECT md5(range::VARCHAR) AS s, range AS x FROM range(2000000)"
    )
    [(top,)] = store._con.execute("SELECT max(s) FROM t").fetchall()
    store.close()
    store = DuckDBStore(tmp_path / "x.duckdb", memory_limit="128MB")
    con = store._con
    [limit] = con.execute("SELECT current_setting('memory_limit')").fetchone() or [""]

    def cached() -> int:
        [(used,)] = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        return int(used)

    assert store.select("SELECT sum(x), max(s) FROM t", [])[1] == [(1999999000000, top)]
    assert cached() > 32 * 2**20
    # A read running: the cache stays (a read short of memory would fail).
    reading = threading.Event()
    done = threading.Event()

    def long_read() -> None:
        reading.set()
        store.select("SELECT count(*) FROM range(3000000000)", [])
        done.set()

    thread = threading.Thread(target=long_read)
    thread.start()
    reading.wait()
    while store._reads == 0 and not done.is_set():
        time.sleep(0.001)
    assert not done.is_set() and store.rest() is False
    thread.join()
    assert store.rest() is True
    assert cached() < 8 * 2**20
    assert con.execute("SELECT current_setting('memory_limit')").fetchone() == (limit,)
    assert store.select("SELECT sum(x), max(s) FROM t", [])[1] == [(1999999000000, top)]
    store.close()
