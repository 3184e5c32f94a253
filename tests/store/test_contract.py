"""The store contract: one suite, every backend (DuckDB file, chdb, a ClickHouse server when
``OPENRUM_CLICKHOUSE_URL`` is set), the same expected answers.

Expected values are computed here in Python from the rows written, so a backend passes only by
answering what DuckDB answers: counts, exact percentiles (linear interpolation, R-7), Apdex,
shares, joins of errors and actions, dimensions, filters, buckets, order and limit. On
ClickHouse the queries that rollups can answer run on them (their ragged range ends on the raw
table): the same answers again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import statistics
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args, get_type_hints

import msgspec
import pyarrow as pa
import pytest

from openrum import sessions
from openrum.query.compiler import compile_query
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query, QueryError, parse_time
from openrum.query.sql import plan, run_query
from openrum.rows import ActionRow, Batch, ErrorRow, SessionTouch, UserEventRow
from openrum.settings import Settings
from openrum.store.base import (
    App,
    CheckResult,
    Delivery,
    Incident,
    LoginSession,
    Store,
    StoreError,
    Token,
)
from tests.store.conftest import BACKENDS, Opener, shared_store

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
DAY = dt.datetime(2026, 11, 20)
MS = 1000


def ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp() * MS)


# -- rows → Arrow, the way the batch step hands them to a store -----------------------------------
_TIMES = {"time", "received", "start", "last_seen", "last_received"}


def _arrow_type(name: str, hint: Any) -> pa.DataType:
    if name in _TIMES:
        return pa.timestamp("ms")
    if name == "eid":
        return pa.uint64()
    args = [a for a in get_args(hint) if a is not type(None)]
    base = args[0] if isinstance(hint, types.UnionType) and args else hint
    return {int: pa.int64(), float: pa.float64(), str: pa.string(), bool: pa.bool_()}[base]


def table(rows: list[msgspec.Struct]) -> pa.Table:
    cls = type(rows[0])
    hints = get_type_hints(cls)
    fields = cls.__struct_fields__
    schema = pa.schema([(f, _arrow_type(f, hints[f])) for f in fields])
    data = []
    for r in rows:
        d = msgspec.structs.asdict(r)
        for f in _TIMES & set(fields):
            d[f] = dt.datetime.fromtimestamp(d[f] / MS, dt.UTC).replace(tzinfo=None)
        data.append(d)
    return pa.Table.from_pylist(data, schema=schema)


def action(eid: int, t: dt.datetime, **kw: Any) -> ActionRow:
    base: dict[str, Any] = {
        "eid": eid,
        "app": "shop",
        "time": ms(t),
        "received": ms(t) + 500,
        "session_id": f"s{eid // 4}",
        "page_view_id": f"pv{eid}",
        "seq": 1,
        "event_id": f"a{eid}",
        "action_type": "load",
        "action_name": "loading of page /",
        "url": "https://shop.example/",
        "page": "/",
    }
    base.update(kw)
    return ActionRow(**base)


def error(eid: int, t: dt.datetime, **kw: Any) -> ErrorRow:
    base: dict[str, Any] = {
        "eid": eid,
        "app": "shop",
        "time": ms(t),
        "received": ms(t),
        "session_id": "s0",
        "page_view_id": "pv0",
        "event_id": f"e{eid}",
        "action_event_id": None,
        "error_type": "js",
        "error_name": "TypeError",
        "message": "boom",
        "fingerprint": "fp1",
        "stack": None,
        "source": None,
        "line": None,
        "col": None,
        "status": None,
        "count": 1,
        "url": "https://shop.example/cart",
        "page": "/cart",
    }
    base.update(kw)
    return ErrorRow(**base)


# -- the data set for queries ----------------------------------------------------------------------
PAGES = ["/", "/cart", "/checkout", "/products/:id"]
BROWSERS = ["Chrome", "Safari", "Firefox", None]
DEVICES = ["desktop", "mobile", "tablet"]


def dataset() -> tuple[list[ActionRow], list[ErrorRow]]:
    """240 actions from 08:00 to 11:59 (ragged times), 30 errors, another app's noise."""
    rng = random.Random(7)
    actions = []
    for i in range(240):
        t = DAY + dt.timedelta(hours=8, seconds=rng.randrange(4 * 3600))
        kind = rng.choice(["load", "load", "route_change", "xhr"])
        d = round(rng.lognormvariate(7.3, 0.7), 1)
        actions.append(
            action(
                i,
                t,
                action_type=kind,
                action_name=f"action {i % 5}",
                # A route change a click caused keeps the click's name (most of them here).
                trigger=f'click on "link {i % 3}"' if kind == "route_change" and i % 4 else None,
                page=rng.choice(PAGES),
                duration=d,
                lcp=round(d * 1.2, 1) if kind == "load" else None,
                inp=float(rng.randrange(50, 700)) if i % 3 else None,
                cls=rng.choice([0.01, 0.05, 0.12, 0.3]) if kind == "load" else None,
                apdex="S" if d <= 3000 else ("T" if d <= 12000 else "F"),
                browser=rng.choice(BROWSERS),
                device=rng.choice(DEVICES),
                country=rng.choice(["DE", "US", "FR"]),
                os=rng.choice(["Windows", "iOS"]),
                release=rng.choice(["1.0", "2.0"]),
            )
        )
    errors = [
        error(
            10_000 + i,
            DAY + dt.timedelta(hours=8, seconds=rng.randrange(4 * 3600)),
            session_id=f"s{rng.randrange(60)}",
            page=rng.choice(PAGES),
            error_type=rng.choice(["js", "request"]),
            count=rng.choice([1, 1, 2]),
            browser=rng.choice(BROWSERS),
            device=rng.choice(DEVICES),
        )
        for i in range(30)
    ]
    return actions, errors


ACTIONS, ERRORS = dataset()
NOISE = [action(50_000 + i, DAY + dt.timedelta(hours=9), app="other") for i in range(10)]


@pytest.fixture(scope="module", params=BACKENDS)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    # The module's one store per backend (written once, read by every query test).
    chdb_path = request.getfixturevalue("chdb_path")
    with shared_store(request.param, chdb_path, tmp_path_factory.mktemp("filled")) as store:
        half = len(ACTIONS) // 2
        store.write(Batch(actions=table(ACTIONS[:half]), errors=table(ERRORS)))
        store.write(Batch(actions=table(ACTIONS[half:] + NOISE)))
        yield store


PAGE_VIEWS = (
    ("load", "route_change")
    if Settings.load({}, environ={}).route_changes_are_page_views
    else ("load",)
)


def in_range(rows: list[Any], start: dt.datetime, end: dt.datetime) -> list[Any]:
    return [r for r in rows if ms(start) <= r.time < ms(end)]


def r7(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    return xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])


def ask(store: Store, exact: bool = True, **body: Any) -> list[dict[str, Any]]:
    settings = Settings.load({}, environ={})
    settings = dataclasses.replace(
        settings, query_approximate_percentiles=not exact, query_approximate_sessions=not exact
    )
    body.setdefault("start", "2026-11-20T08:00:00Z")
    body.setdefault("end", "2026-11-20T12:00:00Z")
    rows: list[dict[str, Any]] = run_query(store, Query(app="shop", **body), settings, NOW)["rows"]
    return rows


RANGES = [
    ("whole hours", DAY + dt.timedelta(hours=8), DAY + dt.timedelta(hours=12)),
    ("ragged ends", DAY + dt.timedelta(hours=8, minutes=41),
     DAY + dt.timedelta(hours=11, minutes=7)),
]  # fmt: skip


def iso(t: dt.datetime) -> str:
    return t.isoformat() + "Z"


# -- queries ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("label", "start", "end"), RANGES, ids=[r[0] for r in RANGES])
def test_totals(filled: Store, label: str, start: dt.datetime, end: dt.datetime) -> None:
    acts, errs = in_range(ACTIONS, start, end), in_range(ERRORS, start, end)
    [row] = ask(
        filled,
        metrics=["count", "page_views", "sessions", "apdex", "errors", "error_sessions"],
        start=iso(start),
        end=iso(end),
    )
    s = sum(a.apdex == "S" for a in acts)
    t = sum(a.apdex == "T" for a in acts)
    assert row == {
        "count": len(acts),
        "page_views": sum(a.action_type in PAGE_VIEWS for a in acts),
        "sessions": len({a.session_id for a in acts}),
        "apdex": pytest.approx((s + t / 2) / len(acts)),
        "apdex_rating": row["apdex_rating"],
        "errors": sum(e.count for e in errs),
        "error_sessions": len({e.session_id for e in errs}),
    }


@pytest.mark.parametrize(("label", "start", "end"), RANGES, ids=[r[0] for r in RANGES])
def test_exact_percentiles_and_stats(
    filled: Store, label: str, start: dt.datetime, end: dt.datetime
) -> None:
    loads = [a for a in in_range(ACTIONS, start, end) if a.action_type == "load"]
    d = [a.duration for a in loads if a.duration is not None]
    lcp = [a.lcp for a in loads if a.lcp is not None]
    [row] = ask(
        filled,
        metrics=["duration:p50", "duration:p75", "duration:p90", "duration:p99", "lcp:median",
                 "duration:avg", "duration:min", "duration:max", "lcp:good_share",
                 "lcp:needs_improvement_share", "lcp:poor_share", "cls:poor_share"],
        filters=[["action_type", "is", "load"]],
        start=iso(start),
        end=iso(end),
    )  # fmt: skip
    for q, name in ((0.5, "duration:p50"), (0.75, "duration:p75"), (0.9, "duration:p90"),
                    (0.99, "duration:p99")):  # fmt: skip
        assert row[name] == pytest.approx(r7(d, q)), name
    assert row["lcp:median"] == pytest.approx(r7(lcp, 0.5))
    assert row["duration:avg"] == pytest.approx(statistics.fmean(d))
    assert (row["duration:min"], row["duration:max"]) == (min(d), max(d))
    assert row["lcp:good_share"] == pytest.approx(sum(x <= 2500 for x in lcp) / len(lcp))
    assert row["lcp:needs_improvement_share"] == pytest.approx(
        sum(2500 < x <= 4000 for x in lcp) / len(lcp)
    )
    assert row["lcp:poor_share"] == pytest.approx(sum(x > 4000 for x in lcp) / len(lcp))
    cls = [a.cls for a in loads if a.cls is not None]
    assert row["cls:poor_share"] == pytest.approx(sum(x > 0.25 for x in cls) / len(cls))


@pytest.mark.parametrize(("label", "start", "end"), RANGES, ids=[r[0] for r in RANGES])
def test_approximate_percentiles_are_close(
    filled: Store, label: str, start: dt.datetime, end: dt.datetime
) -> None:
    acts = in_range(ACTIONS, start, end)
    d = [a.duration for a in acts if a.duration is not None]
    inp = [a.inp for a in acts if a.inp is not None]
    [row] = ask(
        filled,
        exact=False,
        metrics=["duration:p50", "duration:p90", "inp:p75", "duration:max"],
        start=iso(start),
        end=iso(end),
    )
    # A T-Digest (both engines): within a few ranks of the exact value.
    for values, name, q in ((d, "duration:p50", 0.5), (d, "duration:p90", 0.9),
                            (inp, "inp:p75", 0.75)):  # fmt: skip
        assert r7(values, q - 0.05) <= row[name] <= r7(values, q + 0.05), name
    assert row["duration:max"] == max(d)


def test_approximate_sessions_are_close(filled: Store) -> None:
    """Distinct sessions by HyperLogLog (over ranges of more actions than
    query_exact_sessions_max_actions; DuckDB counts them over each action's session number) are
    within a few per cent (or one) of the exact count."""
    settings = dataclasses.replace(
        Settings.load({}, environ={}),
        query_approximate_sessions=True,
        query_exact_sessions_max_actions=0,
    )
    query = Query(
        app="shop",
        metrics=["sessions", "error_sessions"],
        dimensions=["page"],
        order_by="page",
        start="2026-11-20T08:00:00Z",
        end="2026-11-20T12:00:00Z",
    )
    rows = run_query(filled, query, settings, NOW)["rows"]
    assert [r["page"] for r in rows] == sorted(PAGES)
    for row in rows:
        sessions = {a.session_id for a in ACTIONS if a.page == row["page"]}
        errored = {e.session_id for e in ERRORS if e.page == row["page"]}
        assert row["sessions"] == pytest.approx(len(sessions), rel=0.05, abs=1), row
        assert row["error_sessions"] == pytest.approx(len(errored), rel=0.05, abs=1), row


def test_dimensions_with_errors_joined(filled: Store) -> None:
    rows = ask(filled, metrics=["count", "lcp:avg", "errors"], dimensions=["page"], order_by="page")
    expected = []
    for page in sorted(PAGES):
        acts = [a for a in ACTIONS if a.page == page]
        lcp = [a.lcp for a in acts if a.lcp is not None]
        errs = sum(e.count for e in ERRORS if e.page == page)
        expected.append(
            {
                "page": page,
                "count": len(acts),
                "lcp:avg": pytest.approx(statistics.fmean(lcp)),
                "errors": errs or None,
            }
        )
    assert rows == expected


def test_actions_by_their_trigger(filled: Store) -> None:
    rows = ask(filled, metrics=["count"], dimensions=["trigger"], order_by=["trigger"])
    expected: dict[str | None, int] = {}
    for a in ACTIONS:
        expected[a.trigger] = expected.get(a.trigger, 0) + 1
    order = sorted(expected, key=lambda k: (k is None, k or ""))
    assert len(order) == 4  # three clicks and none
    assert rows == [{"trigger": t, "count": expected[t]} for t in order]


def test_two_dimensions_and_null_values(filled: Store) -> None:
    rows = ask(
        filled, metrics=["count"], dimensions=["browser", "device"], order_by=["browser", "device"]
    )
    expected = {}
    for a in ACTIONS:
        key = (a.browser, a.device)
        expected[key] = expected.get(key, 0) + 1
    order = sorted(expected, key=lambda k: (k[0] is None, k[0] or "", k[1]))
    assert rows == [{"browser": b, "device": d, "count": expected[(b, d)]} for b, d in order]


FILTERS: list[tuple[list[Any], Callable[[ActionRow], bool]]] = [
    ([["browser", "is", "Safari"]], lambda a: a.browser == "Safari"),
    ([["browser", "is_not", "Safari"]], lambda a: a.browser != "Safari"),
    ([["browser", "is", None]], lambda a: a.browser is None),
    ([["browser", "is_not", None]], lambda a: a.browser is not None),
    ([["page", "contains", "c"]], lambda a: "c" in a.page),
    ([["page", "in", ["/", "/cart"]]], lambda a: a.page in ("/", "/cart")),
    ([["page", "in", []]], lambda a: False),
    ([["device", "is", "mobile"], ["page", "is", "/cart"]],
     lambda a: a.device == "mobile" and a.page == "/cart"),
    ([["release", "is", 2.0]], lambda a: a.release == "2.0"),
    ([["lcp_rating", "is", "good"]], lambda a: a.lcp is not None and a.lcp <= 2500),
    ([["trigger", "is", 'click on "link 1"']], lambda a: a.trigger == 'click on "link 1"'),
    ([["trigger", "contains", "link"], ["action_type", "is", "route_change"]],
     lambda a: a.trigger is not None and a.action_type == "route_change"),
    ([["trigger", "is", None]], lambda a: a.trigger is None),
    ([["page", "is", "'; DROP TABLE actions; --"]], lambda a: False),
    ([["page", "contains", "\\' OR 1=1 --\t?"]], lambda a: False),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "keep"), FILTERS, ids=[repr(f[0]) for f in FILTERS])
def test_filters(filled: Store, filters: list[Any], keep: Callable[[ActionRow], bool]) -> None:
    [row] = ask(filled, metrics=["count", "duration:p50"], filters=filters)
    kept = [a for a in ACTIONS if keep(a)]
    assert row["count"] == len(kept)
    assert row["duration:p50"] == (
        pytest.approx(r7([a.duration for a in kept if a.duration], 0.5)) if kept else None
    )
    assert filled.select("SELECT count(*) FROM actions", [])[1][0][0] == len(ACTIONS + NOISE)


@pytest.mark.parametrize(("interval", "seconds"), [("1h", 3600), ("15m", 900), ("1d", 86400)])
@pytest.mark.parametrize(("label", "start", "end"), RANGES, ids=[r[0] for r in RANGES])
def test_interval_buckets(
    filled: Store, interval: str, seconds: int, label: str, start: dt.datetime, end: dt.datetime
) -> None:
    rows = ask(
        filled,
        metrics=["count", "errors", "duration:max"],
        interval=interval,
        filters=[["device", "is_not", "tablet"]],
        start=iso(start),
        end=iso(end),
        limit=1000,
    )
    buckets: dict[int, list[ActionRow]] = {}
    for a in in_range(ACTIONS, start, end):
        if a.device != "tablet":
            buckets.setdefault(a.time // (seconds * MS) * seconds * MS, []).append(a)
    errors: dict[int, int] = {}
    for e in in_range(ERRORS, start, end):
        if e.device != "tablet":
            b = e.time // (seconds * MS) * seconds * MS
            errors[b] = errors.get(b, 0) + e.count
    keys = sorted(set(buckets) | set(errors))
    assert rows == [
        {
            "time": dt.datetime.fromtimestamp(b / MS, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "count": len(buckets[b]) if b in buckets else None,
            "errors": errors.get(b),
            "duration:max": max(a.duration for a in buckets[b] if a.duration)
            if b in buckets
            else None,
        }
        for b in keys
    ]


def test_order_and_limit(filled: Store) -> None:
    rows = ask(filled, metrics=["count", "apdex"], dimensions=["action_name"],
               order_by=["-count", "action_name"], limit=2)  # fmt: skip
    counts: dict[str, int] = {}
    for a in ACTIONS:
        counts[a.action_name] = counts.get(a.action_name, 0) + 1
    top = sorted(counts, key=lambda n: (-counts[n], n))[:2]
    assert [(r["action_name"], r["count"]) for r in rows] == [(n, counts[n]) for n in top]


def test_other_applications_stay_apart(filled: Store) -> None:
    settings = Settings.load({}, environ={})
    q = Query(app="other", metrics=["count"], start="2026-11-20T00:00:00Z", end=iso(NOW))
    assert run_query(filled, q, settings, NOW)["rows"] == [{"count": len(NOISE)}]


# Rollups are ClickHouse's: this test runs on the ClickHouse backends only (DuckDB answers the
# same queries from its tables, checked by every test above).
@pytest.mark.parametrize("filled", [b for b in BACKENDS if b != "duckdb"], indirect=True)
def test_rollups_answer_what_they_can(filled: Store) -> None:
    """On ClickHouse, dashboard queries run on rollups; answers equal the raw tables'."""
    settings = Settings.load({}, environ={})
    from openrum.query.dialect import DIALECTS

    d = DIALECTS["clickhouse"]
    body = {"start": "2026-11-20T08:41:00Z", "end": "2026-11-20T11:07:00Z"}
    cases = [
        ({"metrics": ["count", "page_views", "apdex", "errors"]}, "actions_1h"),
        ({"metrics": ["lcp:p75", "lcp:good_share"], "interval": "1h"}, "actions_1h"),
        ({"metrics": ["count", "inp:avg", "lcp:p50"], "dimensions": ["page"]}, "actions_1h_page"),
        ({"metrics": ["inp:p50"], "dimensions": ["page"]}, None),  # no digest of INP by page
        (
            {
                "metrics": ["count"],
                "dimensions": ["browser"],
                "filters": [["device", "is", "mobile"]],
            },
            "actions_1h_env",
        ),
        ({"metrics": ["count"], "dimensions": ["release"]}, None),  # not in a rollup
        ({"metrics": ["count"], "interval": "15m"}, None),
        ({"metrics": ["duration:p50"], "exact": True}, None),  # exact percentiles: raw rows
    ]
    for case, table_name in cases:
        exact = bool(case.pop("exact", False))
        s = dataclasses.replace(settings, query_approximate_percentiles=not exact)
        q = Query(app="shop", **case, **body)
        compiled = compile_query(q, s, NOW, d)
        sql, params = plan("clickhouse", q, s, NOW, compiled.sql, compiled.params)
        assert (f"FROM {table_name} " in sql) if table_name else sql == compiled.sql, case
        raw = filled.select(compiled.sql, compiled.params)[1]
        rolled = filled.select(sql, params)[1]
        assert len(rolled) == len(raw)
        for a, b in zip(rolled, raw, strict=True):
            for x, y in zip(a, b, strict=True):
                if isinstance(x, float) and ":p" in str(case):
                    continue  # two T-Digests of the same values: close, not equal
                assert x == (pytest.approx(y) if isinstance(y, float) else y), case


# Whose traffic: per user type, (actions, errors, sessions closed, live sessions) written.
TRAFFIC = {"real": (6, 2, 1, 1), None: (2, 1, 0, 1), "synthetic": (3, 4, 1, 0), "bot": (1, 0, 0, 1)}


def _traffic(store: Store) -> list[ActionRow]:
    """Actions, errors and sessions of every user type between 08:00 and 12:00 (the actions at
    40 past the hour); returns the actions."""
    acts, errs, touches, closes = [], [], [], []
    for n, (user_type, (a, e, c, live)) in enumerate(TRAFFIC.items()):
        for i in range(a):
            t = DAY + dt.timedelta(hours=8 + i % 4, minutes=40)
            acts.append(action(100 * n + i, t, session_id=f"u{n}-{i % 2}", user_type=user_type,
                               duration=1000.0 * (n + 1), apdex="S"))  # fmt: skip
        for i in range(e):
            t = DAY + dt.timedelta(hours=9, minutes=i)
            errs.append(error(1000 + 100 * n + i, t, session_id=f"u{n}-0", user_type=user_type))
        for i in range(c + live):
            start = ms(DAY + dt.timedelta(hours=9, minutes=i))
            sid = f"v{n}-{i}"
            touches.append(SessionTouch(app="shop", session_id=sid, start=start,
                                        last_seen=start + 1000, last_received=start + 1000,
                                        entry_page="/", exit_page="/",
                                        user_type=user_type))  # fmt: skip
            if i < c:
                closes.append({"app": "shop", "session_id": sid, "end_reason": "end",
                               "duration": 1000.0, "actions": 1, "errors": 0, "rage_clicks": 0,
                               "bounce": True, "ux_score": "satisfying"})  # fmt: skip
    store.write(Batch(actions=table(acts), errors=table(errs), sessions=table(touches)))
    assert store.close_sessions(pa.Table.from_pylist(closes, schema=sessions._SCHEMA)) == 2
    return acts


@pytest.mark.parametrize("rollups", [True, False], ids=["rollups", "raw rows"])
def test_real_users_by_default(opener: Opener, rollups: bool) -> None:
    """Synthetic traffic and bots count only when asked for, from the rollups as from the raw
    rows, over whole hours and ragged ends."""
    store = opener()
    acts = _traffic(store)
    settings = dataclasses.replace(Settings.load({}, environ={}), query_rollups=rollups)
    metrics = ["count", "errors", "completed_sessions", "live_sessions", "duration:max"]
    kinds = {"real": ["real", None], "synthetic": ["synthetic", "bot"], "all": list(TRAFFIC)}
    for start, end in (("08:00", "12:00"), ("08:50", "11:55")):
        for user_type, body in [("real", {}), *((k, {"user_type": k}) for k in kinds)]:
            q = Query(app="shop", metrics=metrics, start=f"2026-11-20T{start}:00Z",
                      end=f"2026-11-20T{end}:00Z", **body)  # fmt: skip
            if not rollups:  # the query as compiled, never planned on rollups
                compiled = compile_query(q, settings, NOW, DIALECTS[store.engine])
                [values] = store.select(compiled.sql, compiled.params)[1]
                row = dict(zip(compiled.columns, values, strict=True))
            else:
                [row] = run_query(store, q, settings, NOW)["rows"]
            counted = [TRAFFIC[k] for k in kinds[user_type]]
            lo, hi = (parse_time(f"2026-11-20T{t}:00Z", "from") for t in (start, end))
            inside = [a for a in in_range(acts, lo, hi) if a.user_type in kinds[user_type]]
            assert row["count"] == len(inside), (q, rollups)
            assert row["duration:max"] == max(a.duration or 0 for a in inside), q
            assert row["errors"] == sum(e for _, e, *_ in counted), q
            assert row["completed_sessions"] == sum(c for *_, c, _ in counted), q
            assert row["live_sessions"] == sum(live for *_, live in counted), q
    with pytest.raises(QueryError, match="user_type"):
        run_query(store, Query(app="shop", metrics=["count"], user_type="bots"), settings, NOW)


def test_the_dashboard_endpoints_count_real_users_by_default(opener: Opener) -> None:
    from openrum.web import actions, distribution, errors
    from openrum.web.scope import parse_scope

    store = opener()
    acts = _traffic(store)
    settings = Settings.load({}, environ={})
    kinds = {"real": ["real", None], "synthetic": ["synthetic", "bot"], "all": list(TRAFFIC)}
    for user_type in [None, *kinds]:
        params = {"app": "shop", "from": "2026-11-20T08:00:00Z", "to": "2026-11-20T12:00:00Z"}
        if user_type:
            params["user_type"] = user_type
        scope = parse_scope(params, settings, "actions", NOW)
        types = kinds[user_type or "real"]
        inside = [a for a in acts if a.user_type in types]
        counted = [TRAFFIC[k] for k in types]
        assert sum(r["count"] for r in actions.table(store, scope, settings)) == len(inside)
        found = distribution.histogram(store, scope, "duration", 10, settings)
        assert found["count"] == len(inside), user_type
        assert sum(g["errors"] for g in errors.groups(store, scope)) == sum(c[1] for c in counted)
    with pytest.raises(QueryError, match="user_type"):
        parse_scope({"app": "shop", "user_type": "robots"}, settings, "actions", NOW)


# -- writes ----------------------------------------------------------------------------------------
def test_migrations_apply_once(opener: Opener) -> None:
    first = opener()
    first.create_app(App(id="shop", name="Shop", origins=["https://shop.example"], created=5))
    again = opener()  # a second process starting on the same database
    assert [a.id for a in again.list_apps()] == ["shop"]
    for name in ("actions", "errors", "user_events", "sessions", "applications", "tokens"):
        again.select(f"SELECT count(*) FROM {name}", [])


def test_write_and_read_back(store: Store) -> None:
    a = action(1, NOW, lcp=1234.5, browser="Chrome", lat=52.5, inp=None, trigger="click on a")
    e = error(2, NOW, message="it's \\ broken\n\ttab", stack="at x (y.js:1:2)", line=1)
    u = UserEventRow(eid=3, app="shop", time=ms(NOW), received=ms(NOW), session_id="s0",
                     page_view_id="pv0", event_id="u1", action_event_id=None,
                     event_type="rage_click", value=None, x=1.5, y=2.0, count=4,
                     url="https://shop.example/", page="/")  # fmt: skip
    store.write(Batch(actions=table([a]), errors=table([e]), user_events=table([u])))
    _cols, rows = store.select(
        "SELECT eid, time, lcp, inp, browser, lat, action_type, trigger FROM actions", []
    )
    assert rows == [(1, NOW, 1234.5, None, "Chrome", 52.5, "load", "click on a")]
    _, rows = store.select("SELECT message, stack, line, count FROM errors", [])
    assert rows == [("it's \\ broken\n\ttab", "at x (y.js:1:2)", 1, 1)]
    _, rows = store.select("SELECT event_type, x, count FROM user_events WHERE eid = ?", [3])
    assert rows == [("rage_click", 1.5, 4)]


def test_trace_ids_are_stored(store: Store) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    actions = table([action(1, NOW, trace_id=trace), action(2, NOW)])
    store.write(Batch(actions=actions, errors=table([error(3, NOW, trace_id=trace)])))
    _, rows = store.select("SELECT eid, trace_id FROM actions ORDER BY eid", [])
    assert rows == [(1, trace), (2, None)]
    _, rows = store.select("SELECT trace_id FROM errors", [])
    assert rows == [(trace,)]


def test_resent_events_are_stored_once(opener: Opener) -> None:
    one, two = opener(), opener()  # two collectors writing to the same store
    batch = Batch(actions=table([action(1, NOW), action(2, NOW)]), errors=table([error(3, NOW)]))
    one.write(batch)
    two.write(batch)
    one.write(Batch(actions=table([action(2, NOW), action(2, NOW)])))  # twice in one batch
    for s in (one, two):
        assert s.select("SELECT count(*) FROM actions", [])[1] == [(2,)]
        assert s.select("SELECT count(*) FROM errors", [])[1] == [(1,)]
        [row] = ask(s, metrics=["count", "errors"], start="2026-11-20T11:00:00Z",
                    end="2026-11-20T13:00:00Z")  # fmt: skip
        assert row == {"count": 2, "errors": 1}


def test_a_higher_seq_replaces_the_action(opener: Opener) -> None:
    one, two = opener(), opener()
    one.write(Batch(actions=table([action(1, NOW, seq=1, duration=1000.0, lcp=None)])))
    two.write(Batch(actions=table([action(1, NOW, seq=3, duration=3000.0, lcp=2000.0)])))
    one.write(Batch(actions=table([action(1, NOW, seq=2, duration=2000.0, lcp=9000.0)])))
    _, rows = one.select("SELECT seq, duration, lcp FROM actions", [])
    assert rows == [(3, 3000.0, 2000.0)]
    [row] = ask(one, metrics=["count", "duration:avg", "lcp:avg", "page_views"],
                start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z")  # fmt: skip
    assert row == {"count": 1, "duration:avg": 3000.0, "lcp:avg": 2000.0, "page_views": 1}


def touch(start: int, last: int, page: str, sid: str = "s1", **kw: Any) -> SessionTouch:
    return SessionTouch(app="shop", session_id=sid, start=ms(NOW) + start,
                        last_seen=ms(NOW) + last, last_received=ms(NOW) + last,
                        entry_page=page, exit_page=page, **kw)  # fmt: skip


def test_session_touches_merge_in_any_order(opener: Opener) -> None:
    one, two = opener(), opener()
    one.write(Batch(sessions=table([touch(5000, 6000, "/b", browser="Chrome")])))
    two.write(Batch(sessions=table([touch(9000, 9500, "/c", user_tag="u1")])))
    one.write(Batch(sessions=table([touch(1000, 2000, "/a", ended=True)])))
    two.write(Batch(sessions=table([touch(1000, 2000, "/a")])))  # re-sent: no change
    two.write(Batch(sessions=table([touch(3000, 4000, "/x", user_tag=None)])))
    _, rows = one.select(
        "SELECT start, last_seen, entry_page, exit_page, user_tag, ended, closed "
        "FROM sessions WHERE app = ?",
        ["shop"],
    )
    t = NOW
    assert rows == [
        (t + dt.timedelta(seconds=1), t + dt.timedelta(seconds=9.5), "/a", "/c", "u1", True, False)
    ]


def test_touches_of_one_session_in_one_batch_merge_as_in_several(opener: Opener) -> None:
    # Batches joined into one write (the writer's isolation of a failing beacon does it).
    touches = [touch(5000, 6000, "/b"), touch(9000, 9500, "/c", user_tag="u1"),
               touch(1000, 2000, "/a"), touch(2000, 3000, "/x", sid="s2")]  # fmt: skip
    store = opener()
    store.write(Batch(sessions=table(touches)))
    _, rows = store.select(
        "SELECT session_id, start, last_seen, entry_page, exit_page, user_tag FROM sessions "
        "WHERE app = ? ORDER BY session_id",
        ["shop"],
    )
    t = NOW
    assert rows == [
        ("s1", t + dt.timedelta(seconds=1), t + dt.timedelta(seconds=9.5), "/a", "/c", "u1"),
        ("s2", t + dt.timedelta(seconds=2), t + dt.timedelta(seconds=3), "/x", "/x", None),
    ]


def closed_session(store: Store) -> pa.Table:
    return pa.Table.from_pylist(
        [{"app": "shop", "session_id": "s1", "end_reason": "inactivity", "duration": 5000.0,
          "actions": 2, "errors": 0, "rage_clicks": 0, "bounce": False,
          "ux_score": "satisfying"}],
        schema=sessions._SCHEMA,
    )  # fmt: skip


def test_closing_is_idempotent_and_final(opener: Opener) -> None:
    one, two = opener(), opener()
    one.write(Batch(sessions=table([touch(0, 5000, "/a")])))
    assert one.close_sessions(closed_session(one)) == 1
    assert two.close_sessions(closed_session(two)) == 0  # another closer, later: nothing to do
    two.write(Batch(sessions=table([touch(60_000, 90_000, "/late")])))  # after the close
    _, rows = one.select(
        "SELECT closed, end_reason, duration, actions, bounce, ux_score, exit_page, last_seen "
        "FROM sessions",
        [],
    )
    assert rows == [(True, "inactivity", 5000.0, 2, False, "satisfying", "/a",
                     NOW + dt.timedelta(seconds=5))]  # fmt: skip


def test_the_closer_on_every_backend(store: Store) -> None:
    from tests.test_sessions import CASES, session_row, store_session
    from tests.test_sessions import NOW as SNOW

    settings = Settings.load({}, environ={})
    for i, (_, events, sent, _) in enumerate(CASES):
        store_session(store, settings, f"s{i}", events, sent)  # type: ignore[arg-type]
    assert sessions.close_sessions(store, settings, SNOW) == sum(
        1 for c in CASES if c[3].get("closed")
    )
    assert sessions.close_sessions(store, settings, SNOW) == 0
    for i, (name, _, _, expected) in enumerate(CASES):
        row = session_row(store, f"s{i}")  # type: ignore[arg-type]
        assert {k: row[k] for k in expected} == expected, name


def test_applications(store: Store) -> None:
    app = App(id="shop", name="Shop's", origins=["https://shop.example", "o'k\\"], created=1000,
              config={"sampling": 50})  # fmt: skip
    store.create_app(app)
    with pytest.raises(StoreError, match="exists"):
        store.create_app(app)
    store.create_app(App(id="blog", name="Blog", origins=[], created=2000))
    app.origins.append("https://www.shop.example")
    app.config["sampling"] = 25
    app.name = "Shop"
    store.update_app(app)
    apps = store.list_apps()
    assert [a.id for a in apps] == ["shop", "blog"]
    assert apps[0] == app
    with pytest.raises(StoreError, match="no application"):
        store.update_app(App(id="nope", name="x", origins=[], created=0))


def test_accounts_logins_tokens_audit(store: Store) -> None:
    assert store.user_count() == 0 and store.password_hash("jane") is None
    store.set_password("jane", "h1")
    store.set_password("jane", "h2")
    assert (store.user_count(), store.password_hash("jane")) == (1, "h2")
    login = LoginSession(id_hash="c1", username="jane", csrf="x", expires=ms(NOW))
    store.save_login(login)
    assert store.find_login("c1") == login
    store.delete_login("c1")
    assert store.find_login("c1") is None
    token = Token(id="t1", name="ci", token_hash="th", created=ms(NOW), app="shop", read_only=True)
    store.save_token(token)
    assert store.list_tokens() == [token]
    assert store.delete_token("t1") is True
    assert store.delete_token("t1") is False
    store.audit("jane", "erase", "shop", {"sessions": 1})
    assert store.select("SELECT actor, action FROM audit_log", [])[1] == [("jane", "erase")]


def test_alert_rules_channels_silences(store: Store) -> None:
    assert store.alert_items("rules") == [] and store.alert_items("channels") == []
    rule = {"id": "r1", "app": "shop", "name": "it's slow", "filters": [["page", "is", "/"]]}
    store.save_alert_item("rules", "r1", rule)
    store.save_alert_item("rules", "r2", {"id": "r2", "name": "b"})
    store.save_alert_item("rules", "r1", {**rule, "name": "renamed"})  # replaced, keeps its place
    assert store.alert_items("rules") == [{**rule, "name": "renamed"}, {"id": "r2", "name": "b"}]
    store.save_alert_item("channels", "c1", {"id": "c1", "kind": "webhook", "secret": "s"})
    assert store.alert_items("channels") == [{"id": "c1", "kind": "webhook", "secret": "s"}]
    assert store.delete_alert_item("rules", "r1") is True
    assert store.delete_alert_item("rules", "r1") is False
    assert [r["id"] for r in store.alert_items("rules")] == ["r2"]
    assert len(store.alert_items("channels")) == 1
    store.save_alert_item("silences", "s1", {"id": "s1", "app": None})
    assert store.alert_items("silences") == [{"id": "s1", "app": None}]


def test_incidents_and_deliveries(store: Store) -> None:
    first = Incident(
        id="i1",
        rule="r1",
        app="shop",
        severity="critical",
        state="firing",
        start=ms(NOW) - 3_600_000,
        detail={"value": 4200.5, "link": "/#/x?a=1"},
    )
    later = Incident(id="i2", rule="r2", app="blog", severity="info", state="firing",
                     start=ms(NOW))  # fmt: skip
    store.save_incident(first)
    store.save_incident(later)
    assert store.incidents() == [later, first]  # newest first
    resolved = msgspec.structs.replace(first, state="resolved", end=ms(NOW), notified=ms(NOW))
    store.save_incident(resolved)
    assert store.incidents() == [later, resolved]
    assert store.incidents(app="shop") == [resolved]
    assert store.incidents(state="firing") == [later]
    assert store.incidents(app="blog", state="resolved") == []
    assert store.incidents(limit=1) == [later]
    tries = [Delivery(time=ms(NOW) + i, incident="i1", channel="c1", event="firing", attempt=i,
                      ok=i == 2, status="200" if i == 2 else "HTTP 503")
             for i in (1, 2)]  # fmt: skip
    for d in tries:
        store.log_delivery(d)
    store.log_delivery(Delivery(ms(NOW), "i2", "c1", "firing", 1, True, "250 OK"))
    assert store.deliveries("i1") == tries[::-1]
    assert len(store.deliveries()) == 3 and store.deliveries(limit=1) == [tries[1]]


def test_availability_checks_and_results(store: Store) -> None:
    check = {"id": "home", "app": "shop", "url": "https://shop.example/", "expect_text": "it's"}
    store.save_alert_item("checks", "home", check)
    assert store.alert_items("checks") == [check] and store.alert_items("rules") == []
    t = ms(NOW)
    runs = [
        CheckResult(t, "home", "shop", True, 200, 85.5, 41.25),
        CheckResult(t + 60_000, "home", "shop", False, 503, 12.0, 41.2, "HTTP 503, expected 200"),
        CheckResult(t + 120_000, "home", "shop", False, 0, 10_000.0, None, "timed out"),
        CheckResult(t + 60_000, "api", "shop", True, 204, 3.0),
    ]
    for r in runs:
        store.save_check_result(r)
    assert store.check_results("home") == runs[2::-1]  # newest first, that check's only
    assert store.check_results("home", limit=1) == [runs[2]]
    assert store.check_results("home", since=t + 60_000) == [runs[2], runs[1]]
    assert store.check_results("none") == []
    # Runs are kept as long as events (retention_days).
    assert store.expire("shop", t + 60_001, 0)["check_results"] == 3
    assert store.check_results("home") == [runs[2]] and store.check_results("api") == []
    assert store.delete_alert_item("checks", "home") is True


def test_one_holder_of_a_lease(opener: Opener) -> None:
    a, b = opener(), opener()  # two collectors on one store
    t = ms(NOW)
    assert a.take_lease("alerts", "a", t, 60_000) is True
    assert b.take_lease("alerts", "b", t + 1000, 60_000) is False
    assert a.take_lease("alerts", "a", t + 30_000, 60_000) is True  # renewed to t + 90 s
    assert b.take_lease("alerts", "b", t + 61_000, 60_000) is False
    assert b.take_lease("alerts", "b", t + 90_000, 60_000) is True  # lapsed: taken over
    assert a.take_lease("alerts", "a", t + 91_000, 60_000) is False
    assert a.take_lease("other", "a", t + 91_000, 60_000) is True  # leases are by name


def test_privacy_erase_export_expire(store: Store) -> None:
    old = NOW - dt.timedelta(days=100)
    store.write(
        Batch(
            actions=table(
                [
                    action(1, NOW, session_id="a"),
                    action(2, NOW, session_id="b"),
                    action(3, old, session_id="c"),
                ]
            ),
            errors=table([error(4, NOW, session_id="a")]),
            sessions=table([touch(0, 1, "/", sid="a", user_tag="jane")]),
        )
    )
    assert store.sessions_of("shop", "jane") == ["a"]
    exported = store.export("shop", ["a"])
    assert [len(exported[t]) for t in ("actions", "errors", "user_events", "sessions")] == [
        1, 1, 0, 1,
    ]  # fmt: skip
    assert store.erase("shop", ["a"]) == {"actions": 1, "errors": 1, "user_events": 0,
                                          "diagnostics": 0, "sessions": 1}  # fmt: skip
    assert store.sessions_of("shop", "jane") == []
    counts = store.expire("shop", ms(NOW - dt.timedelta(days=90)), ms(NOW - dt.timedelta(days=1)))
    assert counts["actions"] == 1
    _, rows = store.select("SELECT session_id FROM actions ORDER BY 1", [])
    assert rows == [("b",)]


def test_bound_values_are_never_sql(store: Store) -> None:
    for value in ["it's", "a\\b", "\\N", "{p0:String}", "?", "tab\there\nnewline", "é€😀", ""]:
        assert store.select("SELECT ? AS v, '?' AS q", [value])[1] == [(value, "?")]
    assert store.select("SELECT ? + 1, ?", [2**40, 1.5])[1] == [(2**40 + 1, 1.5)]


def test_an_unknown_url_is_refused(tmp_path: Path) -> None:
    from openrum.store import open_store

    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store(f"mysql://{tmp_path}")
