"""Error triage on every backend: statuses stored by (app, group), and the transitions read from
the errors stored after a status was set — regressed, and ignores that lapse (openrum/triage.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow as pa
import pytest

from openrum import sessions, triage
from openrum.rows import Batch, SessionTouch, UserEventRow
from openrum.settings import Settings
from openrum.store.base import ErrorStatus, Store
from openrum.store.clickhouse import ClickHouseStore
from openrum.store.duckdb import DuckDBStore
from openrum.web import errors
from openrum.web.scope import Scope, parse_scope
from tests.store.test_contract import NOW, action, error, ms, table

HOUR = dt.timedelta(hours=1)
SETTINGS = Settings.load({}, environ={})


def test_statuses_are_stored_by_app_and_group(store: Store) -> None:
    a = ErrorStatus("shop", "fp1", "resolved", ms(NOW), "admin", release="1.2")
    b = ErrorStatus("shop", "fp2", "ignored", ms(NOW), "token:ci", until=ms(NOW) + 60_000,
                    events=10, sessions=3)  # fmt: skip
    other = ErrorStatus("blog", "fp1", "unresolved", ms(NOW), "admin")
    for s in (a, b, other):
        store.save_error_status(s)
    assert store.error_statuses("shop") == [a, b]
    assert store.error_statuses("blog") == [other]
    assert store.error_statuses("shop", ["fp2", "nope"]) == [b]
    assert store.error_statuses("shop", []) == []
    again = ErrorStatus("shop", "fp1", "unresolved", ms(NOW) + 1000, "admin")
    store.save_error_status(again)  # replaces, by (app, group)
    assert store.error_statuses("shop") == [again, b]


def _errors(store: Store, rows: list[tuple[int, dt.datetime, str, str | None, str]]) -> None:
    """Errors of rows (eid, time, group, release, session)."""
    errs = [error(eid, t, fingerprint=fp, release=rel, session_id=sid)
            for eid, t, fp, rel, sid in rows]  # fmt: skip
    store.write(Batch(errors=table(errs)))


def test_every_transition(store: Store) -> None:
    t0 = ms(NOW)
    # Releases 1.0 (first seen at NOW - 5 h) and 2.0 (first seen at NOW + 2 h).
    store.write(
        Batch(
            actions=table(
                [action(1, NOW - 5 * HOUR, release="1.0"), action(2, NOW + 2 * HOUR, release="2.0")]
            )
        )
    )
    _errors(store, [(1, NOW - 4 * HOUR, g, "1.0", "s1") for g in ("plain", "inrel", "ign")])
    store.save_error_status(triage.change("shop", "plain", "resolved", "admin", t0))
    store.save_error_status(triage.change("shop", "inrel", "resolved", "admin", t0, release="1.0"))
    store.save_error_status(triage.change("shop", "ign", "ignored", "admin", t0, events=3))
    store.save_error_status(
        triage.change("shop", "timed", "ignored", "admin", t0, until=t0 + 3_600_000)
    )
    store.save_error_status(triage.change("shop", "sess", "ignored", "admin", t0, sessions=2))
    now = t0 + 60_000
    shown = {fp: s["status"] for fp, s in triage.statuses(store, "shop", now).items()}
    assert shown == {"plain": "resolved", "inrel": "resolved", "ign": "ignored",
                     "timed": "ignored", "sess": "ignored"}  # fmt: skip
    # After resolving: release 1.0 again. Resolved without a release: regressed; resolved in
    # 1.0: not (only a later release regresses it).
    _errors(store, [(10, NOW + HOUR, "plain", "1.0", "s2"), (11, NOW + HOUR, "inrel", "1.0", "s2")])
    got = triage.statuses(store, "shop", now)
    assert got["plain"]["status"] == "regressed"
    assert got["plain"]["regressed_at"] == ms(NOW + HOUR)
    assert got["inrel"]["status"] == "resolved" and got["inrel"]["resolved_in"] == "1.0"
    # Release 2.0 is later than 1.0: regressed from its first error.
    _errors(store, [(12, NOW + 3 * HOUR, "inrel", "2.0", "s3"),
                    (13, NOW + 4 * HOUR, "inrel", "2.0", "s3")])  # fmt: skip
    got = triage.statuses(store, "shop", now)
    assert got["inrel"]["status"] == "regressed"
    assert got["inrel"]["regressed_at"] == ms(NOW + 3 * HOUR)
    # Ignored until 3 more events: two are not enough, the third ends it. Until a time: when it
    # comes. Until 2 more sessions: two errors in one session are one.
    _errors(store, [(20, NOW + HOUR, "ign", "1.0", "s4"), (21, NOW + HOUR, "ign", "1.0", "s4")])
    _errors(store, [(30, NOW + HOUR, "sess", None, "s5"), (31, NOW + HOUR, "sess", None, "s5")])
    got = triage.statuses(store, "shop", now)
    assert got["ign"]["status"] == "ignored" and got["sess"]["status"] == "ignored"
    _errors(store, [(22, NOW + HOUR, "ign", "1.0", "s6"), (32, NOW + HOUR, "sess", None, "s6")])
    got = triage.statuses(store, "shop", now)
    assert got["ign"]["status"] == "unresolved" and got["sess"]["status"] == "unresolved"
    assert got["timed"]["status"] == "ignored"
    assert triage.statuses(store, "shop", t0 + 3_600_000)["timed"]["status"] == "unresolved"
    # Resolving a regressed group again: resolved, until it is seen again.
    later = ms(NOW + 5 * HOUR)
    store.save_error_status(triage.change("shop", "inrel", "resolved", "admin", later, "2.0"))
    assert triage.statuses(store, "shop", later)["inrel"]["status"] == "resolved"
    # Errors stored before a status was set never count, nor another application's.
    other = error(40, NOW + 6 * HOUR, fingerprint="inrel", release="3.0", app="blog")
    store.write(Batch(errors=table([other])))
    assert triage.statuses(store, "shop", later)["inrel"]["status"] == "resolved"


def test_the_errors_endpoints_on_every_backend(store: Store) -> None:
    """Groups sorted by affected and frustrated sessions and filtered by status; a group's
    releases, users, sessions, breadcrumbs and history — the same answers on every engine."""
    t = NOW - 2 * HOUR
    # "wide": 3 sessions, 3 errors; "loud": 1 session (frustrating, user u1), 5 errors.
    acts = [action(i, t + dt.timedelta(minutes=i), session_id=f"w{i}", release="1.0")
            for i in range(3)]  # fmt: skip
    acts.append(action(9, t, session_id="f0", release="1.0", action_name="open cart"))
    errs = [error(10 + i, t + dt.timedelta(minutes=i, seconds=5), fingerprint="wide",
                  session_id=f"w{i}", release="1.0") for i in range(3)]  # fmt: skip
    errs += [error(20 + i, t + dt.timedelta(minutes=5 + i), fingerprint="loud", session_id="f0",
                   release="1.1" if i else "1.0") for i in range(5)]  # fmt: skip
    click = UserEventRow(eid=30, app="shop", time=ms(t + dt.timedelta(seconds=30)),
                         received=ms(t), session_id="f0", page_view_id="pv9", event_id="u30",
                         action_event_id=None, event_type="rage_click", value="button#pay",
                         x=None, y=None, count=4, url="https://shop.example/",
                         page="/")  # fmt: skip
    touch = SessionTouch(app="shop", session_id="f0", start=ms(t), last_seen=ms(t + HOUR),
                         last_received=ms(t + HOUR), entry_page="/", exit_page="/",
                         user_tag="u1")  # fmt: skip
    store.write(Batch(actions=table(acts), errors=table(errs), user_events=table([click]),
                      sessions=table([touch])))  # fmt: skip
    closed = {"app": "shop", "session_id": "f0", "end_reason": "end", "duration": 1000.0,
              "actions": 1, "errors": 5, "rage_clicks": 1, "bounce": False,
              "ux_score": "frustrating"}  # fmt: skip
    assert store.close_sessions(pa.Table.from_pylist([closed], schema=sessions._SCHEMA)) == 1
    scope = parse_scope({"app": "shop", "from": "2026-11-20T00:00:00Z"}, SETTINGS, "errors", NOW)
    order = {s: [g["fingerprint"] for g in errors.groups(store, scope, sort=s)]
             for s in errors.SORTS}  # fmt: skip
    assert order == {"errors": ["loud", "wide"], "sessions": ["wide", "loud"],
                     "frustrated": ["loud", "wide"], "last_seen": ["loud", "wide"]}  # fmt: skip
    found = {g["fingerprint"]: g for g in errors.groups(store, scope)}
    assert (found["loud"]["frustrated_sessions"], found["wide"]["frustrated_sessions"]) == (1, 0)
    store.save_error_status(triage.change("shop", "wide", "resolved", "admin", ms(NOW)))
    store.audit("admin", errors.AUDIT_ACTION, "shop",
                {"fingerprint": "wide", "from": "unresolved", "to": "resolved"})  # fmt: skip
    open_ = errors.groups(store, scope, status=frozenset({"unresolved", "regressed"}))
    assert [g["fingerprint"] for g in open_] == ["loud"]
    [wide] = errors.groups(store, scope, status=frozenset({"resolved"}), now_ms=ms(NOW))
    assert (wide["fingerprint"], wide["status"], wide["status_by"]) == ("wide", "resolved", "admin")

    d = errors.detail(store, scope, "loud")
    assert d is not None
    assert (d["first_release"], d["last_release"], d["users"]) == ("1.0", "1.1", 1)
    assert [(r["release"], r["errors"]) for r in d["per_release"]] == [("1.0", 1), ("1.1", 4)]
    assert [s["session_id"] for s in d["sessions"]] == ["f0"]
    crumbs = d["samples"][0]["breadcrumbs"]
    assert [(c["kind"], c["type"], c["name"]) for c in crumbs] == [
        ("action", "load", "open cart"), ("user", "rage_click", "button#pay"),
    ]  # fmt: skip
    h = errors.detail(store, scope, "wide")
    assert h is not None
    assert [(x["actor"], x["from"], x["to"]) for x in h["history"]] == [
        ("admin", "unresolved", "resolved")
    ]


def _frustrating(store: Store) -> Scope:
    """Five sessions with an error of group "boom" each: two frustrating ones with errors
    ("early" started before the range, within a session's longest life; "inside"), one
    satisfying, one frustrating closed without errors ("late": its error came after), one
    open. The range the Errors page shows them in."""
    start = dt.datetime(2026, 11, 20)
    longest = dt.timedelta(milliseconds=SETTINGS.session_max_ms)
    began = {"early": start - longest + HOUR, "inside": start + HOUR, "fine": start + HOUR,
             "late": start + HOUR, "open": start + HOUR}  # fmt: skip
    touches = [SessionTouch(app="shop", session_id=sid, start=ms(t), last_seen=ms(t + HOUR),
                            last_received=ms(t + HOUR), entry_page="/", exit_page="/")
               for sid, t in began.items()]  # fmt: skip
    errs = [error(50 + i, start + dt.timedelta(minutes=10 + i), fingerprint="boom", session_id=sid)
            for i, sid in enumerate(began)]  # fmt: skip
    store.write(Batch(errors=table(errs), sessions=table(touches)))
    closes = [{"app": "shop", "session_id": sid, "end_reason": "end", "duration": 1000.0,
               "actions": 1, "errors": 0 if sid == "late" else 1, "rage_clicks": 0,
               "bounce": False, "ux_score": "satisfying" if sid == "fine" else "frustrating"}
              for sid in ("early", "inside", "fine", "late")]  # fmt: skip
    assert store.close_sessions(pa.Table.from_pylist(closes, schema=sessions._SCHEMA)) == 4
    return parse_scope({"app": "shop", "from": "2026-11-20T00:00:00Z"}, SETTINGS, "errors", NOW)


def test_frustrated_sessions_are_the_completed_ones_with_errors_by_start(store: Store) -> None:
    """A group's frustrated sessions are its completed sessions scored frustrating with errors,
    read by start: one that started before the range counts."""
    [boom] = errors.groups(store, _frustrating(store))
    assert (boom["errors"], boom["sessions"], boom["frustrated_sessions"]) == (5, 5, 2)


def test_frustrated_sessions_closed_before_they_were_kept_apart(store: Store) -> None:
    """Migration 019 (of each engine) keeps the frustrated sessions apart, from the closes stored
    before it too, and gives each error stored before it its session's number."""
    if isinstance(store, ClickHouseStore):
        store.t.command("DROP VIEW session_frustrated_mv")  # as a store of before 019
        store.t.command("DROP TABLE session_frustrated")
        store.t.command("ALTER TABLE errors DROP COLUMN session_key")
        store.t.command("DELETE FROM schema_migrations WHERE name = '019_frustrated_sessions.sql'")
        scope = _frustrating(store)
    else:  # DuckDB writes the number with each error: the rows first, then the store of before
        assert isinstance(store, DuckDBStore)
        scope = _frustrating(store)
        for sql in (
            "DROP TABLE session_frustrated",
            "ALTER TABLE errors DROP COLUMN session_key",
            "DELETE FROM schema_migrations WHERE name = '019_frustrated_sessions.sql'",
        ):
            store._con.execute(sql)
    store.migrate()
    [boom] = errors.groups(store, scope)
    assert boom["frustrated_sessions"] == 2
    if isinstance(store, DuckDBStore):
        _, keyed = store.select(
            "SELECT count(*), count(*) FILTER (WHERE session_key = md5_number_lower(session_id)) "
            "FROM errors",
            [],
        )
        assert keyed == [(5, 5)]


def _frustrated_rows(store: Store, session_id: str) -> int:
    """The rows ``session_frustrated`` keeps for a session."""
    if isinstance(store, DuckDBStore):
        where, value = "session_key = md5_number_lower(?)", session_id
    else:
        where, value = "session_id = ?", session_id
    _, [(n,)] = store.select(f"SELECT count(*) FROM session_frustrated WHERE {where}", [value])
    return int(n)


def test_frustrated_sessions_go_with_their_sessions(store: Store) -> None:
    """An erased session leaves nothing in the frustrated sessions kept apart; one expired (its
    errors kept longer) no longer counts as frustrated."""
    scope = _frustrating(store)
    assert (_frustrated_rows(store, "inside"), _frustrated_rows(store, "early")) == (1, 1)
    store.erase("shop", ["inside"])
    assert _frustrated_rows(store, "inside") == 0
    [boom] = errors.groups(store, scope)
    assert (boom["errors"], boom["sessions"], boom["frustrated_sessions"]) == (4, 4, 1)
    # Sessions last seen before the range go ("early"); no event does.
    store.expire("shop", 0, ms(dt.datetime(2026, 11, 20)))
    assert _frustrated_rows(store, "early") == 0
    [boom] = errors.groups(store, scope)
    assert boom["frustrated_sessions"] == 0


def test_affected_sessions_over_many_actions_are_estimates(store: Store) -> None:
    """Over a range of more actions than query_exact_sessions_max_actions, a group's affected
    and frustrated sessions are HyperLogLog estimates (on DuckDB; exact on ClickHouse), close to
    the exact counts."""
    scope = _frustrating(store)
    store.write(Batch(actions=table([action(90, dt.datetime(2026, 11, 20, 2))])))
    approximate = dataclasses.replace(SETTINGS, query_exact_sessions_max_actions=0)
    [exact] = errors.groups(store, scope)
    [estimated] = errors.groups(store, scope, settings=approximate)
    for key, n in (("sessions", 5), ("frustrated_sessions", 2)):
        assert exact[key] == n
        assert estimated[key] == pytest.approx(n, abs=1)
