"""Session metrics over a range read only the sessions that can start in it (ClickHouse), and
metrics of completed sessions only their closes by start: the same answers as the whole
`sessions` view, and as DuckDB's; also for closes stored before they kept their dimensions.

Sessions of two applications (with the same ids) start around the ranges' edges, each from touches
written in several batches (several state rows), two thirds closed; some closed sessions get a
late touch that starts earlier than their close says (their start stays the close's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from openrum import sessions
from openrum.query.compiler import compile_query
from openrum.query.dialect import DIALECTS, ClickHouseDialect, Dialect
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.rows import Batch, SessionTouch
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.store.clickhouse import ClickHouseStore
from tests.store.conftest import Opener, shared_store
from tests.store.test_contract import ms, table

NOW = dt.datetime(2026, 11, 20, 14)
BASE = dt.datetime(2026, 11, 20, 9)
CHOICES = {
    "device": ["desktop", "mobile", "tablet", None],
    "browser": ["Chrome", "Safari", "Firefox"],
    "country": ["DE", "US", None],
    "user_type": ["real", None, "synthetic", "bot"],
}
SETTINGS = dataclasses.replace(
    Settings.load({}, environ={}),
    query_approximate_percentiles=False,
    query_approximate_sessions=False,
    query_rollups=False,
)


class WholeView(ClickHouseDialect):
    """ClickHouse reading the whole `sessions` view, as before."""

    source = Dialect.source


def _write(store: Store) -> list[dt.datetime]:
    """Writes the sessions; returns the starts of the closed sessions touched late (shop's)."""
    rnd = random.Random(7)
    batches: list[list[SessionTouch]] = [[], [], []]
    closes, late, edges = [], [], []
    for app in ("shop", "other"):
        for i in range(60):
            sid = f"s{i}"
            start = BASE + dt.timedelta(seconds=rnd.randrange(0, 3 * 3600))
            dims = {k: rnd.choice(v) for k, v in CHOICES.items()}
            weight = rnd.choice([1.0, 2.0, 4.0])  # the session's sampling rate's
            for n in range(rnd.randint(1, 3)):  # touches of later batches start later
                t = ms(start) + n * rnd.randrange(0, 600_000)
                batches[n].append(SessionTouch(
                    app=app, session_id=sid, start=t, last_seen=t + 30_000,
                    last_received=t + 31_000, entry_page=f"/e{n}", exit_page=f"/x{n}",
                    weight=weight, **dims,
                ))  # fmt: skip
            if i % 3:
                closes.append({
                    "app": app, "session_id": sid, "end_reason": "inactivity",
                    "duration": float(rnd.randrange(0, 900_000)), "actions": rnd.randint(1, 9),
                    "errors": 0, "rage_clicks": 0, "bounce": rnd.random() < 0.4,
                    "ux_score": rnd.choice(["satisfying", "tolerable", "frustrating"]),
                })  # fmt: skip
                if i % 3 == 1 and i % 4 == 1:  # after the close, a touch from before its start
                    edges += [start] if app == "shop" else []
                    t = ms(start) - rnd.randrange(60_000, 1_800_000)
                    late.append(SessionTouch(
                        app=app, session_id=sid, start=t, last_seen=t + 1000,
                        last_received=ms(BASE + dt.timedelta(hours=4)), entry_page="/late",
                        exit_page="/late", weight=weight, **dims,
                    ))  # fmt: skip
    for touches in batches:
        store.write(Batch(sessions=table(touches)))
    closed = pa.Table.from_pylist(closes, schema=sessions._SCHEMA)
    assert store.close_sessions(closed) == len(closes)
    store.write(Batch(sessions=table(late)))
    if isinstance(store, ClickHouseStore):  # as the background merges do: no state row keeps
        store.t.command("OPTIMIZE TABLE session_state FINAL")  # the start a close kept
    return edges


# The engines' SQL is compared: ClickHouse's through chdb (the `clickhouse://` transport sends
# the same statements; the contract suite runs through it), and DuckDB's.
ENGINES = ["duckdb", "chdb"]


@pytest.fixture(scope="module")
def stores(
    chdb_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Store], list[dt.datetime]]]:
    """Each backend's store, and the starts of the sessions touched late."""
    with contextlib.ExitStack() as stack:
        out = {}
        for backend in ENGINES:
            folder = tmp_path_factory.mktemp("source")
            out[backend] = stack.enter_context(shared_store(backend, chdb_path, folder))
            edges = _write(out[backend])
        yield out, edges


METRICS = [
    "bounce_rate", "ux_frustrating_share", "ux_satisfying_share", "ux_tolerable_share",
    "completed_sessions", "live_sessions", "session_duration:p75", "session_duration:max",
    "session_actions:avg",
]  # fmt: skip
SHAPES: list[dict[str, Any]] = [
    {},
    {"dimensions": ["device"]},
    {"dimensions": ["browser", "country"], "filters": [["device", "is", "mobile"]]},
    {"dimensions": ["entry_page"], "user_type": "all"},
    {"interval": "5m", "filters": [["country", "is_not", "US"]], "user_type": "synthetic"},
    {"dimensions": ["user_type"], "user_type": "all", "filters": [["browser", "in", ["Chrome"]]]},
]
# Ranges that cut sessions at their starts: their start, length in minutes.
RANGES = [(BASE + dt.timedelta(minutes=m - 30, seconds=7), n) for m, n in (
    (0, 5), (30, 5), (41, 17), (47, 60), (90, 31), (150, 45), (0, 300), (200, 300))]  # fmt: skip


# Of completed sessions only: read from their closes.
COMPLETED = [m for m in METRICS if m != "live_sessions"]


def _queries(metrics: list[str], ranges: list[tuple[dt.datetime, int]]) -> Iterator[Query]:
    """The query of ``metrics`` in each shape over each range (its start, length in minutes)."""
    for shape in SHAPES:
        for start, length in ranges:
            end = start + dt.timedelta(minutes=length)
            yield Query(app="shop", metrics=metrics, start=f"{start.isoformat()}Z",
                        end=f"{end.isoformat()}Z", **shape)  # fmt: skip


def _rows(store: Store, q: Query, dialect: Dialect) -> list[tuple[Any, ...]]:
    compiled = compile_query(q, SETTINGS, NOW, dialect)
    return sorted(store.select(compiled.sql, compiled.params)[1], key=repr)


@pytest.mark.parametrize(("metrics", "open_too"), [(METRICS, True), (COMPLETED, False)])
def test_session_metrics_read_the_range_with_the_views_answers(
    stores: tuple[dict[str, Store], list[dt.datetime]], metrics: list[str], open_too: bool
) -> None:
    store, duck = stores[0]["chdb"], stores[0]["duckdb"]
    # Ranges that hold a late-touched session's start (its close's), not its earliest touch.
    edges = [(t - dt.timedelta(seconds=30), 2) for t in stores[1]]
    compiled = compile_query(Query(app="shop", metrics=metrics), SETTINGS, NOW,
                             DIALECTS["clickhouse"])  # fmt: skip
    # Closes by start; the state of open sessions only when a metric counts them.
    assert "FROM sessions " not in compiled.sql and "FROM session_starts" in compiled.sql
    assert ("session_state" in compiled.sql) == open_too
    answered = 0
    for q in _queries(metrics, RANGES + edges):
        rows = _rows(store, q, DIALECTS["clickhouse"])
        assert rows == _rows(store, q, WholeView()), q
        answered += bool(rows)
        mine = run_query(store, q, SETTINGS, NOW)["rows"]
        theirs = run_query(duck, q, SETTINGS, NOW)["rows"]

        def key(r: dict[str, Any]) -> str:
            return repr([v for k, v in r.items() if k not in metrics])

        for a, b in zip(sorted(mine, key=key), sorted(theirs, key=key), strict=True):
            # Percentiles of session measures are each engine's sketch (a T-Digest, a
            # histogram): close, not equal; the rest is the same.
            b = {k: v for k, v in b.items() if ":p" not in k}
            a = {k: v for k, v in a.items() if ":p" not in k}
            assert a == pytest.approx(b), q
    assert answered > len(RANGES + edges) * len(SHAPES) // 2


# What migration clickhouse/018 added: a close's dimensions, and every value of the close kept
# by start.
DIMS = ("browser", "browser_version", "os", "os_version", "device", "country", "region", "city",
        "connection", "release")  # fmt: skip
WIDE = ("last_seen", "entry_page", "exit_page", "user_tag", "end_reason", "duration", "actions",
        "errors", "rage_clicks", "bounce", "ux_score", "weight", "user_type", *DIMS)  # fmt: skip


@pytest.mark.parametrize("backend", ["chdb", "clickhouse"])
def test_closes_stored_before_they_kept_dimensions_are_read_with_their_sessions(
    opener: Opener,
) -> None:
    store = opener()
    assert isinstance(store, ClickHouseStore)
    _write(store)
    # As a store of before 018: closes without dimensions, their starts alone by start.
    store.t.command("ALTER TABLE session_starts_mv MODIFY QUERY "
                    "SELECT app, start, session_id FROM session_closes")  # fmt: skip
    store.t.command("ALTER TABLE session_starts " + ", ".join(f"DROP COLUMN {c}" for c in WIDE))
    store.t.command("ALTER TABLE session_closes " + ", ".join(f"DROP COLUMN {c}" for c in DIMS))
    store.t.command("DELETE FROM schema_migrations WHERE name = '018_closed_sessions.sql'")
    store.migrate()
    _, unknown = store.select("SELECT count() FROM session_starts WHERE browser IS NULL", [])
    assert unknown == [(0,)]  # every session of _write has a browser
    answered = 0
    for q in _queries(COMPLETED, RANGES):
        rows = _rows(store, q, DIALECTS["clickhouse"])
        assert rows == _rows(store, q, WholeView()), q
        answered += bool(rows)
    assert answered > len(RANGES) * len(SHAPES) // 2
