"""DuckDB's rollups (openrum/query/rollup_duckdb.py) answer what the raw rows answer: counts, sums
and shares exactly, percentiles within their bucket's width, over ragged ranges, intervals and
filters; kept so by re-sent events, actions replaced by a higher seq, erasure and expiry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.resources
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from openrum.query import rollup_duckdb
from openrum.query.compiler import compile_query
from openrum.query.dialect import BUCKETS_PER_E, DIALECTS
from openrum.query.model import Query, parse_time
from openrum.query.rollup import Rollup
from openrum.query.sql import plan, run_query
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.duckdb import SESSION_KEY, DuckDBStore
from openrum.web import distribution
from openrum.web.scope import Scope
from tests.store.test_contract import (
    ACTIONS,
    DAY,
    ERRORS,
    NOISE,
    NOW,
    PAGES,
    action,
    in_range,
    ms,
    table,
)

SETTINGS = Settings.load({}, environ={})
RAW = dataclasses.replace(SETTINGS, query_rollups=False)
# A percentile from a bucket is within half a bucket (about 1 %) of a value of that rank.
WIDTH = math.exp(1 / BUCKETS_PER_E) - 1

CASES: list[dict[str, Any]] = [
    {"metrics": ["count", "page_views", "sessions", "apdex", "errors", "error_sessions"]},
    {"metrics": ["lcp:p75", "lcp:good_share", "lcp:needs_improvement_share", "lcp:poor_share"]},
    {"metrics": ["page_views", "duration:p50", "lcp:p50"], "interval": "1h"},
    {"metrics": ["count", "duration:avg", "duration:min", "duration:max", "inp:p90"]},
    {"metrics": ["count", "dns:p50", "tcp:p50"], "filters": [["action_type", "is", "load"]]},
    {
        "metrics": ["count", "duration:p99"],
        "dimensions": ["action_type"],
        "order_by": ["-count", "action_type"],
    },
    {"metrics": ["count", "cls:p75"], "filters": [["action_type", "in", ["load", "xhr"]]]},
    {"metrics": ["apdex", "duration:p95"], "filters": [["action_type", "is_not", "xhr"]]},
    {
        "metrics": ["count", "page_views", "sessions", "duration:p50", "apdex"],
        "dimensions": ["page"],
        "order_by": ["-count", "page"],
    },
    {
        "metrics": ["duration:p50"],
        "dimensions": ["page"],
        "interval": "1h",
        "filters": [["page", "in", ["/", "/cart"]]],
        "order_by": ["time", "page"],
    },
    {  # NULL browsers are a group of their own
        "metrics": ["count", "sessions", "lcp:p75", "apdex"],
        "dimensions": ["browser", "browser_version"],
        "filters": [["device", "is", "mobile"]],
        "order_by": ["-count", "browser"],
    },
    {
        "metrics": ["page_views", "sessions", "duration:p50"],
        "dimensions": ["country"],
        "filters": [["country", "is_not", "FR"]],
        "order_by": ["country"],
    },
    {"metrics": ["count", "lcp:p90"], "interval": "1d"},
    {  # two levels of one measure and another measure's, per key: one histogram list each
        "metrics": ["duration:p50", "duration:p90", "lcp:p75"],
        "dimensions": ["page"],
        "order_by": ["page"],
    },
]
RANGES = [
    ("2026-11-18T00:00:00Z", "2026-11-21T00:00:00Z"),  # whole days
    ("2026-11-19T22:17:00Z", "2026-11-21T01:00:00Z"),  # a day, hours around it, a ragged end
    ("2026-11-20T08:00:00Z", "2026-11-20T12:00:00Z"),  # whole hours
    ("2026-11-20T08:41:00Z", "2026-11-20T11:07:00Z"),  # ragged ends
    ("2026-11-19T23:00:00Z", "2026-11-20T10:30:00Z"),  # empty hours, a ragged end
]


def answers(store: DuckDBStore, settings: Settings, **body: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = run_query(store, Query(app="shop", **body), settings, NOW)["rows"]
    return rows


def same(rolled: list[dict[str, Any]], raw: list[dict[str, Any]]) -> None:
    assert len(rolled) == len(raw)
    for a, b in zip(rolled, raw, strict=True):
        assert a.keys() == b.keys()
        for k, x in a.items():
            y = b[k]
            if ":p" in k and x is not None and y is not None:
                assert y / (1 + WIDTH) <= x <= y * (1 + WIDTH), k
            elif isinstance(y, float):
                assert x == pytest.approx(y), k
            else:
                assert x == y, k


def assert_rollups_match(store: DuckDBStore) -> None:
    d = DIALECTS["duckdb"]
    for start, end in RANGES:
        for case in CASES:
            body = {**case, "start": start, "end": end}
            q = Query(app="shop", **body)
            assert rollup_duckdb.plan(q, SETTINGS, NOW, d, "", []) is not None, body
            same(answers(store, SETTINGS, **body), answers(store, RAW, **body))


def assert_sketches_recount(store: DuckDBStore) -> None:
    """Each rollup's sketches, merged per key, hold the registers a recount of the raw actions
    gives (hourly and daily)."""
    for r in rollup_duckdb.ROLLUPS:
        for grain in ("hour", "day"):
            table = f"{r.name}_1{grain[0]}_sketch"
            raw = f"({rollup_duckdb.sketch_sql(r, 'true', grain=grain)})"
            kept = store.select(registers(r, table), [])[1]
            assert kept and kept == store.select(registers(r, raw), [])[1], table


def registers(r: Rollup, rows: str) -> str:
    """Per key and register of the sketch rows ``rows``, its maximum."""
    keys, rho = ", ".join(["app", "hour", *r.dims]), rollup_duckdb.RHO
    return (
        f"SELECT {keys}, packed // {rho} AS reg, max(packed % {rho}) FROM "
        f"(SELECT {keys}, unnest(regs) AS packed FROM {rows}) GROUP BY ALL ORDER BY ALL"
    )


def rollup_rows(store: DuckDBStore) -> list[tuple[Any, ...]]:
    """Per hour and action type: rows, and the count and sum of durations (partial rows summed)."""
    return store.select(
        "SELECT hour, action_type, rows, n, total FROM "
        "(SELECT hour, action_type, sum(rows) AS rows FROM actions_1h WHERE app = 'shop' "
        "GROUP BY ALL) JOIN (SELECT hour, action_type, sum(n) AS n, sum(total) AS total "
        "FROM actions_1h_measures WHERE app = 'shop' AND measure = 'duration' GROUP BY ALL) "
        "USING (hour, action_type) ORDER BY 1, 2",
        [],
    )[1]


@pytest.fixture(params=[30, 2], ids=["partial rows", "compacted"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "rollups.duckdb", compact_every=request.param)
    half = len(ACTIONS) // 2
    s.write(Batch(actions=table(ACTIONS[:half]), errors=table(ERRORS)))
    s.write(Batch(actions=table(ACTIONS[half:] + NOISE)))
    return s


def test_the_migration_is_current() -> None:
    path = importlib.resources.files("openrum.store") / "sql" / "duckdb" / rollup_duckdb.MIGRATION
    assert path.read_text() == rollup_duckdb.ddl(), (
        f"run: python -m openrum.query.rollup_duckdb > openrum/store/sql/duckdb/"
        f"{rollup_duckdb.MIGRATION}"
    )


def test_the_planner_uses_rollups_and_answers_as_the_raw_rows(store: DuckDBStore) -> None:
    d = DIALECTS["duckdb"]
    q = Query(app="shop", metrics=["count", "lcp:p75"], start=RANGES[1][0], end=RANGES[1][1])
    compiled = compile_query(q, SETTINGS, NOW, d)
    assert "actions_1h" in plan("duckdb", q, SETTINGS, NOW, compiled.sql, compiled.params)[0]
    # Not by release, not INP by page, not by 15 minutes, not exact percentiles: the raw rows.
    for other, settings in (
        ({"dimensions": ["release"]}, SETTINGS),
        ({"dimensions": ["page"], "metrics": ["inp:p75"]}, SETTINGS),
        ({"interval": "15m"}, SETTINGS),
        ({}, dataclasses.replace(SETTINGS, query_approximate_percentiles=False)),
    ):
        q = Query(app="shop", **{"metrics": ["lcp:p75"], **other})
        compiled = compile_query(q, settings, NOW, d)
        assert plan("duckdb", q, settings, NOW, compiled.sql, compiled.params)[0] == compiled.sql
    assert_rollups_match(store)


@pytest.mark.parametrize(
    ("measure", "filters"),
    [
        ("duration", ()),
        ("lcp", (("action_type", "is", "load"),)),
        ("duration", (("page", "in", ["/", "/cart"]),)),
        ("inp", (("action_type", "is_not", "xhr"),)),
        ("lcp", (("device", "is", "mobile"),)),
        ("cls", ()),
    ],
)
def test_histograms_from_rollups(
    store: DuckDBStore, measure: str, filters: tuple[tuple[str, str, Any], ...]
) -> None:
    """The dashboard's histograms count from the rollups' log-spaced buckets: each equal bucket
    off by at most the values within a log bucket of its edges (and one for rounding)."""
    d = DIALECTS["duckdb"]
    near = math.exp(1 / BUCKETS_PER_E)
    within = ("2026-11-20T08:10:00Z", "2026-11-20T08:50:00Z")  # no whole hour: the raw rows
    for start, end in [*RANGES, within]:
        lo, hi = parse_time(start, "from"), parse_time(end, "to")
        scope = Scope("shop", lo, hi, filters)
        q = Query(app="shop", metrics=[f"{measure}:p50"], filters=list(filters), start=start,
                  end=end, user_type="all")  # fmt: skip
        rolled = rollup_duckdb.histogram(q, SETTINGS, NOW, d, measure)
        assert (rolled is None) == ((start, end) == within), (start, end)
        found = distribution.histogram(store, scope, measure, 20, SETTINGS, lambda: NOW)
        values = [getattr(a, measure) for a in in_range(ACTIONS, lo, hi)
                  if all(_matches(a, f) for f in filters)]  # fmt: skip
        values = [v for v in values if v is not None]
        assert found["count"] == len(values)
        width, counts = found["width"], [b["count"] for b in found["buckets"]]
        exact = [0] * 20
        for v in values:
            exact[min(math.floor(v / width), 19)] += 1  # as the SQL
        for i in range(20):
            edges = [e * width for e in (i, i + 1) if 0 < e < 20]
            close = sum(any(e / near <= v <= e * near for e in edges) for v in values)
            slack = close + 1 if rolled else 0  # the raw rows count exactly
            assert abs(counts[i] - exact[i]) <= slack, (start, end, i, counts, exact)


def _matches(a: Any, f: tuple[str, str, Any]) -> bool:
    value = getattr(a, f[0])
    return {"is": value == f[2], "is_not": value != f[2], "in": value in f[2]}[f[1]]


def test_resent_and_replaced_actions_count_once(store: DuckDBStore) -> None:
    before = rollup_rows(store)
    store.write(Batch(actions=table(ACTIONS[:50])))  # re-sent: stored once, counted once
    assert rollup_rows(store) == before
    # A later seq replaces an action: its old duration and hour leave, the new ones count.
    old = ACTIONS[3]
    newer = action(
        old.eid,
        DAY + dt.timedelta(hours=11, minutes=30),
        seq=2,
        action_type="xhr",
        duration=123.0,
        session_id=old.session_id,
    )
    store.write(Batch(actions=table([newer])))
    assert rollup_rows(store) != before
    raw = store.select(
        "SELECT date_trunc('hour', time), action_type, count(*), count(duration), "
        "coalesce(sum(duration), 0) FROM actions WHERE app = 'shop' GROUP BY 1, 2 ORDER BY 1, 2",
        [],
    )[1]
    assert [r[:4] for r in rollup_rows(store)] == [r[:4] for r in raw]
    for a, b in zip(rollup_rows(store), raw, strict=True):
        assert a[4] == pytest.approx(b[4])
    assert_rollups_match(store)


def test_erase_and_expire_take_rows_out(store: DuckDBStore) -> None:
    total = answers(store, SETTINGS, metrics=["count"], start=RANGES[0][0], end=RANGES[0][1])
    store.erase("shop", ["s0", "s1", "s2"])
    erased = sum(a.session_id in ("s0", "s1", "s2") for a in ACTIONS)
    assert erased
    after = answers(store, SETTINGS, metrics=["count"], start=RANGES[0][0], end=RANGES[0][1])
    assert after[0]["count"] == total[0]["count"] - erased
    assert_rollups_match(store)
    assert_sketches_recount(store)
    cut = DAY + dt.timedelta(hours=9, minutes=20)
    store.expire("shop", ms(cut), ms(cut))
    kept = sum(a.time >= ms(cut) and a.session_id not in ("s0", "s1", "s2") for a in ACTIONS)
    after = answers(store, SETTINGS, metrics=["count"], start=RANGES[0][0], end=RANGES[0][1])
    assert after[0]["count"] == kept
    assert_rollups_match(store)
    assert_sketches_recount(store)


def test_rebuild_recounts_what_write_kept(store: DuckDBStore) -> None:
    # Actions over three days: the rebuild counts a day at a time.
    later = [action(1000 + i, DAY + dt.timedelta(days=1 + i % 2, hours=i)) for i in range(20)]
    store.write(Batch(actions=table(later)))
    assert_sketches_recount(store)  # as writes keep them
    days = "SELECT hour, sum(rows) FROM actions_1d WHERE app = 'shop' GROUP BY ALL ORDER BY 1"
    kept, kept_days = rollup_rows(store), store.select(days, [])[1]
    assert len(kept_days) == 3
    store.rebuild_rollups()
    again = rollup_rows(store)
    assert [r[:4] for r in again] == [r[:4] for r in kept]
    assert [r[4] for r in again] == pytest.approx([r[4] for r in kept])  # sums, in any order
    assert store.select(days, [])[1] == kept_days
    assert_sketches_recount(store)
    # Stored in the order of their hour, as writes append them: the zone maps of ``hour`` find
    # a range's rows.
    for t in rollup_duckdb.TABLES:
        keys = store.select(f"SELECT hour, app FROM {t}", [])[1]
        assert keys == sorted(keys), t


def test_rebuild_fits_the_store_memory(tmp_path: Path) -> None:
    """Recounting every rollup at once ran out of the store's memory on large stores (166M
    actions under 256 MB, bench/query at 100M); a day at a time, it fits. Here: 200k actions
    over four days under 40 MB (all at once needed between 48 and 64 MB)."""
    from bench.query import GENERATE

    path, n = tmp_path / "large.duckdb", 200_000
    store = DuckDBStore(path, memory_limit="512MB")
    store._con.execute(
        GENERATE.format(session_key=SESSION_KEY, n=n, first=0, t0="2026-11-16 00:00:00",
                        span_ms=4 * 86_400_000, start=0, end=n)
    )  # fmt: skip
    store.close()
    store = DuckDBStore(path, memory_limit="40MB")
    store.rebuild_rollups()
    for grain in ("1h", "1d"):
        assert store.select(f"SELECT sum(rows) FROM actions_{grain}", [])[1] == [(n,)]
    store.close()


def test_compaction_leaves_one_row_per_key(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "compact.duckdb", compact_every=3)
    for i in range(0, 120, 40):  # three writes: the third compacts what all three wrote
        store.write(Batch(actions=table(ACTIONS[i : i + 40])))
    for t in rollup_duckdb.TABLES:
        keys = "hour, action_type" + (", measure" if "measures" in t else "")
        keys += ", measure, bucket" if t.endswith("_hist") else ""
        [(rows, groups)] = store.select(
            f"SELECT count(*), count(DISTINCT ({keys}, {', '.join(_dims(t))})) FROM {t}", []
        )[1]
        assert rows == groups > 0, t
    assert_rollups_match(store)


def test_a_failed_compaction_leaves_the_write_stored_and_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compaction runs in a transaction of its own, after the write's."""
    store = DuckDBStore(tmp_path / "compact.duckdb", compact_every=2)
    compact = DuckDBStore._compact
    failures = []

    def out_of_memory(con: Any, hours: Any) -> None:
        if not failures:
            failures.append(hours)
            compact(con, hours)  # its changes are rolled back
            raise duckdb.OutOfMemoryException("could not allocate block")
        compact(con, hours)

    monkeypatch.setattr(DuckDBStore, "_compact", staticmethod(out_of_memory))
    store.write(Batch(actions=table(ACTIONS[:40])))
    store.write(Batch(actions=table(ACTIONS[40:80])))  # its compaction fails: the write stands
    assert failures
    assert store.select("SELECT count(*) FROM actions", [])[1] == [(80,)]
    assert_rollups_match(store)  # from the partial rows
    [(rows,)] = store.select("SELECT count(*) FROM actions_1h", [])[1]
    store.write(Batch(actions=table(ACTIONS[80:120])))  # and the next write compacts all three
    [(compacted,)] = store.select("SELECT count(*) FROM actions_1h", [])[1]
    assert compacted < rows
    assert_rollups_match(store)


def _dims(table: str) -> tuple[str, ...]:
    return next(r.dims for r in rollup_duckdb.ROLLUPS if table.startswith(f"{r.name}_1"))


@pytest.mark.parametrize(
    "shape", ["004_rollups.sql", "008_rollups_user_type.sql", "018_rollup_sketches.sql"]
)
def test_a_migration_of_the_rollups_recounts_them(store: DuckDBStore, shape: str) -> None:
    """From the rollups without a user type (004), without sketches (008) or with a row per
    register (018) to today's."""
    # Synthetic traffic and a bot among the stored actions.
    others = [
        action(60_000 + i, DAY + dt.timedelta(hours=8 + i % 4, minutes=7 * i),
               user_type="synthetic" if i % 3 else "bot", duration=100.0 * i)
        for i in range(12)
    ]  # fmt: skip
    store.write(Batch(actions=table(others)))
    # A store from before it: rollups of the earlier shape (empty), the migration not applied.
    con = store._con
    for t in rollup_duckdb.TABLES:
        con.execute(f"DROP TABLE {t}")
    old = importlib.resources.files("openrum.store") / "sql" / "duckdb" / shape
    con.execute(old.read_text())
    con.execute(f"DELETE FROM schema_migrations WHERE name = '{rollup_duckdb.MIGRATION}'")
    assert store.migrate() >= 20
    assert_rollups_match(store)
    assert_sketches_recount(store)
    d = DIALECTS["duckdb"]
    for user_type in ("synthetic", "all"):
        for start, end in RANGES:
            body = {"metrics": ["count", "page_views", "apdex", "duration:p50"], "start": start,
                    "end": end, "user_type": user_type}  # fmt: skip
            assert rollup_duckdb.plan(Query(app="shop", **body), SETTINGS, NOW, d, "", [])
            same(answers(store, SETTINGS, **body), answers(store, RAW, **body))
    [(n,)] = store.select("SELECT sum(rows) FROM actions_1d WHERE user_type = 'synthetic'", [])[1]
    assert n == 8


def test_distinct_sessions_from_sketches(tmp_path: Path) -> None:
    """Distinct sessions by the rollups' HyperLogLog sketches, kept by writes as ingest makes
    them, are within 10 % (three standard errors of 1,024 registers) of the exact count, over
    ranges of many sessions where the estimate is HyperLogLog's and not linear counting. Each
    session spans the range: counted once over its days, hours and ragged ends."""
    store = DuckDBStore(tmp_path / "sketches.duckdb", compact_every=2)
    sketched = dataclasses.replace(SETTINGS, query_exact_sessions_max_actions=0)  # not exact
    start = DAY - dt.timedelta(days=2)
    rows = [
        action(
            i,
            start + dt.timedelta(seconds=i * 5),  # 60,000 actions over 3.5 days
            session_id=f"v{i % 9001}",  # 9,001 sessions, each over every day and hour piece
            page=PAGES[i % 3],
            action_type=("load", "xhr")[i % 5 == 0],
        )
        for i in range(60_000)
    ]
    for i in range(0, len(rows), 15_000):
        store.write(Batch(actions=table(rows[i : i + 15_000])))
    d = DIALECTS["duckdb"]
    ranges = [
        ("2026-11-18T00:00:00Z", "2026-11-21T00:00:00Z"),  # whole days
        ("2026-11-18T05:20:00Z", "2026-11-20T13:45:00Z"),  # days, hours, ragged ends
    ]
    for lo, hi in ranges:
        kept = in_range(rows, parse_time(lo, "from"), parse_time(hi, "to"))
        for body, key in [
            ({}, lambda a: ()),
            ({"dimensions": ["page"], "order_by": ["page"]}, lambda a: (a.page,)),
            ({"filters": [["action_type", "is", "xhr"]]},
             lambda a: () if a.action_type == "xhr" else None),
            ({"interval": "1d", "order_by": ["time"]}, lambda a: (a.time // 86_400_000,)),
        ]:  # fmt: skip
            q = Query(app="shop", metrics=["sessions"], start=lo, end=hi, **body)
            compiled = compile_query(q, SETTINGS, NOW, d)
            assert "_sketch" in plan("duckdb", q, SETTINGS, NOW, compiled.sql, compiled.params)[0]
            exact: dict[tuple[Any, ...], set[str]] = {}
            for a in kept:
                if (k := key(a)) is not None:
                    exact.setdefault(k, set()).add(a.session_id)
            found = answers(store, sketched, metrics=["sessions"], start=lo, end=hi, **body)
            assert len(found) == len(exact), body
            for row, k in zip(found, sorted(exact), strict=True):
                assert len(exact[k]) > 2_560, body  # 2.5 × the registers: not linear counting
                assert row["sessions"] == pytest.approx(len(exact[k]), rel=0.10), (lo, body, k)
        # Beside percentiles (histograms) and metrics from the raw rows (errors): the same
        # answers for those, and the sessions within the bound.
        body = {"metrics": ["count", "duration:p50", "sessions", "errors"], "dimensions": ["page"],
                "order_by": ["page"]}  # fmt: skip
        q = Query(app="shop", start=lo, end=hi, **body)
        compiled = compile_query(q, sketched, NOW, d)
        assert "_sketch" in plan("duckdb", q, sketched, NOW, compiled.sql, compiled.params)[0]
        mixed = answers(store, sketched, start=lo, end=hi, **body)
        raw = answers(store, RAW, start=lo, end=hi, **body)
        same([{**r, "sessions": 0} for r in mixed], [{**r, "sessions": 0} for r in raw])
        for a, b in zip(mixed, raw, strict=True):
            assert a["sessions"] == pytest.approx(b["sessions"], rel=0.10)
        # No action matches: none, as on the raw rows.
        body = {"metrics": ["sessions", "count"], "filters": [["page", "is", "/nowhere"]]}
        none = [{"sessions": 0, "count": 0}]
        assert answers(store, sketched, start=lo, end=hi, **body) == none
