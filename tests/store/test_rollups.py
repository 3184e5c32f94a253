"""Rollups are ClickHouse's: on every ClickHouse backend, what they answer — over whole days,
whole hours and ragged ends, through the query API and the dashboard's endpoints — equals what
the raw rows answer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import msgspec
import pyarrow as pa
import pytest

from openrum import sessions
from openrum.alerts import evaluate
from openrum.alerts.evaluate import Kept
from openrum.alerts.rules import Condition, Rule
from openrum.query.compiler import compile_query
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query, resolve_metric
from openrum.query.sql import plan
from openrum.rows import ActionRow, Batch, ErrorRow, SessionTouch
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.store.clickhouse import ClickHouseStore
from openrum.web import actions, distribution, errors
from openrum.web import sessions as web_sessions
from openrum.web.scope import Scope
from tests.store.conftest import BACKENDS, Opener, shared_store
from tests.store.test_contract import action, error, ms, table

DAY = dt.datetime(2026, 11, 17)
NOW = dt.datetime(2026, 11, 20, 12)
START, END = dt.datetime(2026, 11, 17, 9, 30), dt.datetime(2026, 11, 20, 10, 15)
SETTINGS = Settings.load({}, environ={})


@pytest.fixture(params=[b for b in BACKENDS if b != "duckdb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Real users (or no user type known), synthetic monitors and bots.
USER_TYPES = ["real", "real", "synthetic", None, "real", "bot"]


def _actions() -> list[ActionRow]:
    rng = random.Random(11)
    out = []
    for i in range(400):  # three and a half days, ragged times
        t = DAY + dt.timedelta(seconds=rng.randrange(int(3.5 * 86400)))
        d = round(rng.lognormvariate(7.0, 0.8), 1)
        kind = rng.choice(["load", "load", "route_change", "xhr"])
        out.append(
            action(
                i, t, action_type=kind, action_name=f"action {i % 4}", page=f"/p{i % 6}",
                duration=d, lcp=round(d * 1.3, 1) if kind == "load" else None,
                apdex="S" if d <= 3000 else ("T" if d <= 12000 else "F"),
                browser=rng.choice(["Chrome", "Safari", None]), browser_version="120",
                device=rng.choice(["desktop", "mobile"]), country=rng.choice(["DE", "US"]),
                region=rng.choice(["BE", "BY", None]), errors=rng.choice([0, 0, 0, 2]),
                user_type=USER_TYPES[i // 3 % len(USER_TYPES)],
            )
        )  # fmt: skip
    return out


ACTIONS = _actions()
# Action 7 re-sent with a higher seq: it replaces the stored one in every rollup.
AGAIN = msgspec.structs.replace(ACTIONS[7], seq=2, duration=99.0, apdex="S")
STORED = [AGAIN if a.eid == AGAIN.eid else a for a in ACTIONS]


def _errors() -> list[ErrorRow]:
    rng = random.Random(3)
    out = []
    for i in range(120):
        t = DAY + dt.timedelta(seconds=rng.randrange(int(3.5 * 86400)))
        out.append(
            error(
                1000 + i, t, fingerprint=f"fp{i % 3}", message=f"boom {i}",
                session_id=f"s{rng.randrange(20)}", count=rng.choice([1, 2]),
                browser=rng.choice(["Chrome", "Safari", None]),
                release=rng.choice(["1.0", "2.0", None]),
                user_type=USER_TYPES[i // 2 % len(USER_TYPES)],
            )
        )  # fmt: skip
    return out


ERRORS = _errors()


def _fill(store: Store) -> Store:
    store.write(Batch(errors=table(ERRORS)))
    store.write(Batch(actions=table(ACTIONS[:150])))
    store.write(Batch(actions=table(ACTIONS[150:])))
    store.write(Batch(actions=table([AGAIN])))
    return store


@pytest.fixture(scope="module", params=[b for b in BACKENDS if b != "duckdb"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    # The module's one store per backend (written once, read by every query test).
    chdb_path = request.getfixturevalue("chdb_path")
    with shared_store(request.param, chdb_path, tmp_path_factory.mktemp("rollups")) as store:
        yield _fill(store)


def _compare(
    store: Store, body: dict[str, Any], rollup_table: str | None, settings: Settings = SETTINGS
) -> None:
    d = DIALECTS["clickhouse"]
    q = Query(app="shop", start=START.isoformat() + "Z", end=END.isoformat() + "Z", **body)
    compiled = compile_query(q, settings, NOW, d)
    sql, params = plan("clickhouse", q, settings, NOW, compiled.sql, compiled.params)
    if rollup_table is None:
        assert sql == compiled.sql
    else:
        assert f"FROM {rollup_table} " in sql, body
    raw = store.select(compiled.sql, compiled.params)[1]
    rolled = store.select(sql, params)[1]
    assert len(rolled) == len(raw) > 0
    for a, b in zip(rolled, raw, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and ":p" in str(body):
                continue  # two T-Digests of the same values: close, not equal
            assert x == (pytest.approx(y) if isinstance(y, float) else y), body


# The dashboard's browser comparison (bench/query.py).
BROWSERS = {
    "metrics": ["count", "page_views", "sessions", "lcp:p75", "apdex"],
    "dimensions": ["browser", "browser_version"],
    "filters": [["device", "is", "mobile"]],
    "order_by": "-count",
}
CASES = [
    ({"metrics": ["count", "page_views", "apdex", "sessions", "duration:avg"]}, "actions_1d"),
    ({"metrics": ["count", "lcp:max"], "interval": "1d"}, "actions_1d"),
    ({"metrics": ["count", "lcp:good_share"], "interval": "1h", "limit": 1000}, "actions_1h"),
    ({"metrics": ["count", "duration:p50"], "dimensions": ["action_name"]}, "actions_1d_name"),
    ({"metrics": ["count", "sessions"], "dimensions": ["region"],
      "filters": [["country", "is", "DE"]]}, "actions_1d_geo"),
    (BROWSERS, "actions_1d_client"),
    ({"metrics": ["page_views", "duration:max"], "dimensions": ["device"],
      "filters": [["browser_version", "is", "120"]], "interval": "1h", "limit": 1000},
     "actions_1h_client"),
    ({"metrics": ["count", "page_views", "apdex"], "dimensions": ["browser", "browser_version"],
      "filters": [["device", "is", "mobile"], ["action_type", "is_not", "xhr"]]},
     "actions_1d_browser"),
    ({"metrics": ["page_views", "lcp:p75"], "dimensions": ["page"]}, "actions_1d_page"),
    ({"metrics": ["count"], "dimensions": ["os"]}, None),
    # Synthetic traffic (and bots), or everyone's: from the same rollups.
    ({"metrics": ["count", "page_views", "apdex", "sessions", "duration:p50"],
      "user_type": "synthetic"}, "actions_1d"),
    ({**BROWSERS, "user_type": "all"}, "actions_1d_client"),
    ({"metrics": ["count", "errors"], "dimensions": ["user_type"], "user_type": "all"},
     "actions_1d"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "rollup_table"), CASES)
def test_days_hours_and_ragged_ends(
    filled: Store, body: dict[str, Any], rollup_table: str | None
) -> None:
    _compare(filled, body, rollup_table)


@pytest.mark.parametrize(
    ("dims", "rollup_table"),
    [(["browser_version"], "actions_1d_client"), (["page"], "actions_1d_page")],
)
def test_page_views_without_route_changes(
    filled: Store, dims: list[str], rollup_table: str
) -> None:
    settings = Settings.load({"route_changes_are_page_views": "false"}, environ={})
    _compare(filled, {"metrics": ["page_views"], "dimensions": dims}, rollup_table, settings)


# Queries no rollup answers (an action name and a device; errors of a release): an alert rule's.
KEPT_CASES = [
    {"metrics": ["count", "lcp:p75", "duration:avg", "apdex", "page_views", "sessions",
                 "action_error_share", "lcp:poor_share", "duration:max"],
     "filters": [["action_name", "is", "action 1"], ["device", "is", "mobile"]]},
    {"metrics": ["errors", "page_views"], "filters": [["release", "is", "1.0"]]},
]  # fmt: skip


@pytest.mark.parametrize("body", KEPT_CASES)
def test_kept_hours_answer_as_the_raw_rows_and_read_each_hour_once(
    filled: Store, body: dict[str, Any]
) -> None:
    """A day's window moving by 24 minutes (an alert rule's, evaluate.Kept keeping its hours):
    each answer is the raw rows', and each whole hour is read raw once."""
    kept = Kept()
    filled_hours: list[tuple[dt.datetime, dt.datetime]] = []

    def select(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        assert "hour_of" in sql  # the one query kept_partials runs: the hours not kept
        filled_hours.append((params[1], params[2]))
        return filled.select(sql, params)[1]

    d = DIALECTS["clickhouse"]
    sources = len({resolve_metric(m).source for m in body["metrics"]})
    for n in range(8):
        end = dt.datetime(2026, 11, 18, 9, 36) + n * dt.timedelta(minutes=24)
        start = end - dt.timedelta(days=1)
        q = Query(app="shop", start=start.isoformat() + "Z", end=end.isoformat() + "Z", **body)
        compiled = compile_query(q, SETTINGS, NOW, d)
        before = len(filled_hours)
        sql, params = plan("clickhouse", q, SETTINGS, NOW, compiled.sql, compiled.params,
                           kept, select)  # fmt: skip
        assert "FROM values(" in sql
        [raw] = filled.select(compiled.sql, compiled.params)[1]
        [answer] = filled.select(sql, params)[1]
        assert raw[0] > 0
        for x, y, name in zip(answer, raw, compiled.columns, strict=True):
            if ":p" in name:  # two T-Digests of the same values: close, not equal
                assert x == pytest.approx(y, rel=0.05), name
            else:
                assert x == (pytest.approx(y) if isinstance(y, float) else y), name
        reads = filled_hours[before:]
        h1 = end.replace(minute=0)
        if n == 0:  # every whole hour (09:36 to 09:36 holds 23), once per source
            assert reads == [(start.replace(minute=0) + dt.timedelta(hours=1), h1)] * sources
        elif (end - dt.timedelta(minutes=24)).hour != end.hour:  # one more whole hour
            assert reads == [(h1 - dt.timedelta(hours=1), h1)] * sources
        else:
            assert reads == []
        kept.next_round(keep_rounds=1)  # hours read this round stay


def test_an_alert_rule_measures_from_kept_hours(
    filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = Rule(
        app="shop", name="slow LCP of action 1", metric="lcp:p75", window="1d",
        filters=[("action_name", "is", "action 1")],
        condition=Condition(op="above", threshold=2500),
    )  # fmt: skip
    end = dt.datetime(2026, 11, 18, 9, 36)
    start = end - dt.timedelta(days=1)
    alone = evaluate.measure(filled, rule, SETTINGS, start, end)
    sql: list[str] = []
    select = filled.select
    monkeypatch.setattr(filled, "select", lambda q, p: sql.append(q) or select(q, p))
    with evaluate.keeping(evaluate.Kept()):
        measured = evaluate.measure(filled, rule, SETTINGS, start, end)
    assert measured[1] == alone[1] > 0 and measured[0] == pytest.approx(alone[0], rel=0.05)
    assert len(sql) == 2 and "hour_of" in sql[0] and "FROM values(" in sql[1]


def test_a_later_rollup_migration_fills_from_the_stored_events(opener: Opener) -> None:
    # A store from before the rollups by user type: its migration remakes every rollup and
    # fills it from the events stored (the client rollup dropped here: made anew).
    filled = _fill(opener())
    assert isinstance(filled, ClickHouseStore)
    for name in ("actions_1h_client", "actions_1d_client"):
        filled.t.command(f"DROP VIEW {name}_mv")
        filled.t.command(f"DROP TABLE {name}")
    filled.t.command("DELETE FROM schema_migrations WHERE name = '009_rollups_user_type.sql'")
    filled.migrate()
    filled.migrate()  # applied once
    _compare(filled, BROWSERS, "actions_1d_client")
    _compare(filled, CASES[0][0], "actions_1d")
    filled.write(Batch(actions=table([msgspec.structs.replace(AGAIN, seq=3, apdex="F")])))
    _compare(filled, BROWSERS, "actions_1d_client")  # and fed by its views from then on


def test_expired_days_leave_the_daily_rollups(opener: Opener) -> None:
    filled = _fill(opener())
    cutoff = dt.datetime(2026, 11, 18, 13, 0)
    filled.expire("shop", ms(cutoff), ms(cutoff))
    # The cutoff's own day keeps exactly what its hours keep.
    _compare(filled, {"metrics": ["count", "errors", "duration:avg"]}, "actions_1d")
    _, rows = filled.select("SELECT sum(rows) FROM actions_1d WHERE hour < ?", [cutoff])
    assert rows[0][0] == len([a for a in STORED if a.time >= ms(cutoff) and a.time < ms(
        dt.datetime(2026, 11, 19))])  # fmt: skip


def _scope(*filters: tuple[str, str, str]) -> Scope:
    return Scope("shop", START, END, tuple(filters))


def test_the_actions_table_from_rollups(filled: Store) -> None:
    scope = _scope()
    assert scope.rolled("clickhouse", "actions", ["action_name", "action_type"], ["rows"])
    rows = actions.table(filled, scope, SETTINGS)
    inside = [a for a in STORED if ms(START) <= a.time < ms(END)]
    assert len(rows) == len({(a.action_name, a.action_type) for a in inside})
    for r in rows:
        group = [a for a in inside if (a.action_name, a.action_type) ==
                 (r["action_name"], r["action_type"])]  # fmt: skip
        assert r["count"] == len(group)
        assert r["sessions"] == len({a.session_id for a in group})
        assert r["errors"] == sum(a.errors for a in group)
        assert r["error_share"] == pytest.approx(sum(a.errors > 0 for a in group) / len(group))
        s, t = sum(a.apdex == "S" for a in group), sum(a.apdex == "T" for a in group)
        assert r["apdex"] == pytest.approx((s + t / 2) / len(group))
        durations = [a.duration for a in group]
        assert min(durations) <= r["duration:p50"] <= max(durations)


@pytest.mark.parametrize("measure", ["duration", "lcp"])
def test_histograms_from_rollups(filled: Store, measure: str) -> None:
    scope = _scope(("action_type", "is", "load"))
    assert scope.rolled("clickhouse", "actions", [], [f"{measure}_bins"]) is not None
    found = distribution.histogram(filled, scope, measure, 40)
    values = [getattr(a, measure) for a in STORED
              if ms(START) <= a.time < ms(END) and a.action_type == "load"]  # fmt: skip
    values = [v for v in values if v is not None]
    assert found["count"] == len(values)
    width = found["width"]
    expected = [0] * 40
    for v in values:
        expected[min(int(max(v, 0) // width), 39)] += 1
    assert [b["count"] for b in found["buckets"]] == expected


# -- sessions: closed ones from their rollup, live ones from session_open ------------------------
SCORES = ["satisfying", "tolerable", "frustrating"]


def _sessions(store: Store) -> None:
    """30 sessions over three days; two thirds closed, with scores and reasons."""
    rng = random.Random(5)
    touches, closes = [], []
    for i in range(30):
        start = ms(DAY + dt.timedelta(seconds=rng.randrange(3 * 86400)))
        sid = f"x{i}"
        touches.append(SessionTouch(app="shop", session_id=sid, start=start,
                                    last_seen=start + 60_000, last_received=start + 60_000,
                                    entry_page="/a", exit_page="/b",
                                    user_type=USER_TYPES[i % len(USER_TYPES)]))  # fmt: skip
        if i % 3:
            closes.append({"app": "shop", "session_id": sid,
                           "end_reason": rng.choice(["inactivity", "end"]),
                           "duration": float(rng.randrange(1000, 90_000)),
                           "actions": rng.randrange(1, 6), "errors": 0, "rage_clicks": 0,
                           "bounce": rng.random() < 0.3,
                           "ux_score": rng.choice(SCORES)})  # fmt: skip
    store.write(Batch(sessions=table(touches)))
    assert store.close_sessions(pa.Table.from_pylist(closes, schema=sessions._SCHEMA)) == 20
    # A touch after the close changes nothing and leaves the session closed.
    late = touches[1]
    store.write(
        Batch(sessions=table([msgspec.structs.replace(late, last_seen=late.last_seen + 1)]))
    )


SESSION_CASES = [
    {"metrics": ["sessions", "live_sessions", "completed_sessions", "bounce_rate"]},
    {"metrics": ["sessions"], "dimensions": ["ux_score"]},
    {"metrics": ["live_sessions", "ux_satisfying_share", "session_duration:avg"],
     "interval": "1d"},
    {"metrics": ["completed_sessions", "session_actions:max"], "dimensions": ["end_reason"]},
    {"metrics": ["sessions", "completed_sessions", "ux_frustrating_share"],
     "user_type": "synthetic"},
    {"metrics": ["sessions", "bounce_rate"], "dimensions": ["user_type"], "user_type": "all"},
]  # fmt: skip


def test_session_metrics_from_rollups(opener: Opener) -> None:
    store = opener()
    _sessions(store)
    _, open_ = store.select("SELECT count() FROM session_open", [])
    # Closed sessions left it; the late touch put one back until the next close (readers check).
    assert open_ == [(11,)]
    for body in SESSION_CASES:
        _compare(store, body, "sessions_1d")


@pytest.mark.parametrize("limit", [1, 5, 25])
def test_the_newest_sessions_without_reading_every_session(opener: Opener, limit: int) -> None:
    store = opener()
    _sessions(store)
    # Two closers may both write a session: readers allow for repeated rows.
    assert isinstance(store, ClickHouseStore)
    store.t.command("INSERT INTO session_starts SELECT * FROM session_starts")
    scope = _scope()
    # A touch of a closed session after its close, newer than any start: it does not take an
    # open session's place among the newest.
    late = ms(scope.end) - 1
    touch = SessionTouch(app="shop", session_id="x2", start=late, last_seen=late,
                         last_received=late, entry_page="/a", exit_page="/b")  # fmt: skip
    store.write(Batch(sessions=table([touch])))
    _, rows = store.select(
        "SELECT session_id FROM sessions WHERE app = ? AND start >= ? AND start < ? "
        "ORDER BY start DESC, session_id LIMIT ?",
        [scope.app, scope.start, scope.end, limit],
    )
    listing = web_sessions.Listing(scope, "all", limit=limit)
    found, cursor = web_sessions.list_sessions(store, listing, Settings.load({}, environ={}))
    assert [r["session_id"] for r in found] == [r[0] for r in rows]
    assert len(found) == limit
    if limit == 25:  # every session in range: live and closed ones
        assert {r["live"] for r in found} == {True, False}
    # Page after page, the narrowed reads give what reading every session gives.
    _, every = store.select(
        "SELECT session_id FROM sessions WHERE app = ? AND start >= ? AND start < ? "
        "ORDER BY start DESC, session_id",
        [scope.app, scope.start, scope.end],
    )
    paged = [r["session_id"] for r in found]
    while cursor:
        listing = dataclasses.replace(listing, after=web_sessions.decode_cursor(cursor))
        page, cursor = web_sessions.list_sessions(store, listing, Settings.load({}, environ={}))
        paged += [r["session_id"] for r in page]
    assert paged == [r[0] for r in every]


def test_error_groups_from_rollups(filled: Store) -> None:
    scope = _scope()
    assert scope.rolled("clickhouse", "errors", ["fingerprint"], errors._GROUP) is not None
    _assert_groups(filled, ERRORS)


def _assert_groups(store: Store, stored: list[ErrorRow]) -> None:
    """The Errors page's groups and a group's detail, read from the rollups, are those of the
    errors ``stored``."""
    scope = _scope()
    found = errors.groups(store, scope)
    inside = [e for e in stored if ms(START) <= e.time < ms(END)]
    assert [g["fingerprint"] for g in found] == sorted(
        {e.fingerprint for e in inside},
        key=lambda fp: (-sum(e.count for e in inside if e.fingerprint == fp), fp),
    )
    for g in found:
        group = [e for e in inside if e.fingerprint == g["fingerprint"]]
        latest = max(group, key=lambda e: e.time)
        assert g["errors"] == sum(e.count for e in group)
        assert g["sessions"] == len({e.session_id for e in group})
        assert g["message"] == latest.message
        assert g["last_seen"] == iso(latest.time)
        every = [e.time for e in stored if e.fingerprint == g["fingerprint"]]
        assert g["first_seen"] == iso(min(every))  # over everything stored
        assert g["releases"] == sorted({e.release for e in group if e.release})
        browsers: dict[str | None, int] = {}
        for e in group:
            browsers[e.browser] = browsers.get(e.browser, 0) + e.count
        assert {b["browser"]: b["errors"] for b in g["browsers"]} == browsers
    detail = errors.detail(store, scope, "fp1")
    assert detail is not None and detail["group"] == next(
        g for g in found if g["fingerprint"] == "fp1"
    )


def test_erased_sessions_leave_the_rollups(opener: Opener) -> None:
    """An erasure (docs/privacy.md) takes the erased sessions' actions, errors and closes out of
    every rollup, hourly and daily: counts, distinct sessions, percentiles, and the latest
    message of an error group (which may be the erased user's)."""
    store = _fill(opener())
    _sessions(store)
    inside = [e for e in ERRORS if ms(START) <= e.time < ms(END)]
    latest = max((e for e in inside if e.fingerprint == "fp1"), key=lambda e: e.time)
    gone = sorted({latest.session_id, "s3", "s7", "x1", "x4"})
    counts = store.erase("shop", gone)
    assert counts["actions"] == sum(a.session_id in gone for a in STORED) > 0
    assert counts["sessions"] == 2  # x1 and x4 (the others have no session rows)
    for body, rollup_table in CASES:
        _compare(store, body, rollup_table)
    for body in SESSION_CASES:
        _compare(store, body, "sessions_1d")
    _assert_groups(store, [e for e in ERRORS if e.session_id not in gone])


def iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
