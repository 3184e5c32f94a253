"""Sessions (RUM.md "Sessions", Dynatrace rules): the closer, idempotence, queries and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from openrum import sessions
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon, encode, load_action
from tests.conftest import UA_CHROME

MIN = 60_000
NOW = 1_800_000_000_000  # pinned "now" (epoch ms)


def xhr(aid: str, start: int, duration: float, **extra: Any) -> dict[str, Any]:
    return {"kind": "action", "id": aid, "type": "xhr", "start": start, "url":
            "https://shop.example/cart", "duration": duration, **extra}  # fmt: skip


def store_session(
    store: DuckDBStore, settings: Settings, sid: str, events: list[dict[str, Any]], sent: int
) -> None:
    body = beacon("shop", sid=sid, events=events, sent=sent)
    p = Pipeline(settings)
    store.write(p.run([Raw(encode(body), len(events), sent, "203.0.113.0", UA_CHROME)]))
    p.close()


def session_row(store: DuckDBStore, sid: str) -> dict[str, Any]:
    cols, rows = store.select(
        "SELECT closed, end_reason, duration, actions, errors, rage_clicks, bounce, ux_score, "
        "entry_page, exit_page, user_tag FROM sessions WHERE session_id = ?",
        [sid],
    )
    return dict(zip(cols, rows[0], strict=True))


def at(minutes_ago: float) -> int:
    return NOW - int(minutes_ago * MIN)


# (events of one session, the beacon's send time) → what the closer makes of it at NOW.
CASES: list[tuple[str, list[dict[str, Any]], int, dict[str, Any]]] = [
    (
        "30 min without a beacon: closed, duration = end of last action − start of first",
        [load_action("a1", start=at(60), duration=2000.0),
         xhr("x1", at(55), 1000.0)],
        at(50),
        {"closed": True, "end_reason": "inactivity", "duration": 5 * MIN + 1000.0,
         "actions": 2, "bounce": False, "ux_score": "satisfying"},
    ),
    (
        "still active 10 min ago: live, no duration and no score yet",
        [load_action("a1", start=at(12), duration=2000.0)],
        at(10),
        {"closed": False, "end_reason": None, "duration": None, "ux_score": None},
    ),
    (
        "an explicit end closes at once",
        [load_action("a1", start=at(3), duration=2000.0),
         {"kind": "user", "id": "end", "type": "session_end", "time": at(2)}],
        at(2),
        {"closed": True, "end_reason": "end", "actions": 1, "bounce": True},
    ),
    (
        "one action is a bounce; a slow one tolerable (T=3 s, F=12 s)",
        [load_action("a1", start=at(40), duration=5000.0)],
        at(39),
        {"closed": True, "bounce": True, "ux_score": "tolerable"},
    ),
    (
        "errors and rage clicks weigh in: F=1+2+2 of 11 ≥ 30 % → frustrating",
        [load_action("a1", start=at(40), duration=1000.0),
         xhr("x1", at(39), 500.0),
         {"kind": "error", "id": "e1", "type": "js", "time": at(39), "message": "boom"},
         {"kind": "user", "id": "r1", "type": "rage_click", "time": at(39), "count": 4},
         {"kind": "user", "id": "r2", "type": "rage_click", "time": at(38.5), "count": 3}],
        at(38),
        {"closed": True, "errors": 1, "rage_clicks": 2, "ux_score": "frustrating"},
    ),
    (
        "the last action frustrated makes the session frustrating",
        [load_action("a1", start=at(40), duration=1000.0),
         xhr("x1", at(39.9), 500.0), xhr("x2", at(39.8), 500.0), xhr("x3", at(39.7), 500.0),
         xhr("x4", at(39), 20_000.0)],
        at(38),
        {"closed": True, "ux_score": "frustrating"},
    ),
    (
        "6 h reached: closed although active; only the first 6 h count",
        [load_action("a1", start=at(400), duration=1000.0),
         xhr("x1", at(370), 1000.0), xhr("x2", at(5), 1000.0)],
        at(5),
        {"closed": True, "end_reason": "max_duration", "actions": 2,
         "duration": 30 * MIN + 1000.0},
    ),
    (
        "user tag, entry and exit page",
        [load_action("a1", start=at(40), duration=1000.0, url="https://shop.example/"),
         load_action("a2", start=at(39), duration=1000.0, url="https://shop.example/cart"),
         {"kind": "user", "id": "t", "type": "user_tag", "time": at(39), "value": "jane"}],
        at(38),
        {"closed": True, "entry_page": "/", "exit_page": "/cart", "user_tag": "jane"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "sent", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_closer_rules(
    store: DuckDBStore,
    settings: Settings,
    events: list[dict[str, Any]],
    sent: int,
    expected: dict[str, Any],
) -> None:
    store_session(store, settings, "s1", events, sent)
    sessions.close_sessions(store, settings, NOW)
    row = session_row(store, "s1")
    assert {k: row[k] for k in expected} == expected


def test_a_new_part_after_200_actions(store: DuckDBStore, settings: Settings) -> None:
    events = [xhr(f"x{i}", at(20) + i * 1000, 100.0) for i in range(201)]
    store_session(store, settings, "s1", events, at(15))
    assert sessions.close_sessions(store, settings, at(14)) == 1  # active, but 200 reached
    row = session_row(store, "s1")
    assert (row["end_reason"], row["actions"]) == ("max_actions", 200)


@pytest.mark.parametrize("limit", [200, 3])
def test_parts_of_a_session_are_sessions_of_their_own(store: DuckDBStore, limit: int) -> None:
    # Part 2 of session "s1" is "s1.2" (the agent starts it after 200 actions,
    # agent/src/lib/session.js); the closer ends part 1 at the server's `session_max_actions`.
    settings = Settings.load({"session_max_actions": str(limit)}, environ={})
    first = [xhr(f"x{i}", at(40) + i * 1000, 100.0) for i in range(limit)]
    second = [
        xhr("y0", at(40) + limit * 1000, 100.0, url="https://shop.example/next"),
        xhr("y1", at(40) + limit * 1000 + 500, 100.0),
    ]
    store_session(store, settings, "s1", first, at(39))
    store_session(store, settings, "s1.2", second, at(39))
    assert sessions.close_sessions(store, settings, at(30)) == 1  # part 1 is full
    row = session_row(store, "s1")
    assert (row["end_reason"], row["actions"], row["closed"]) == ("max_actions", limit, True)
    assert not session_row(store, "s1.2")["closed"]  # part 2 is live
    assert sessions.close_sessions(store, settings, NOW) == 1  # 30 min later: inactive
    row = session_row(store, "s1.2")
    assert (row["end_reason"], row["actions"], row["entry_page"]) == ("inactivity", 2, "/next")
    assert row["duration"] == 600.0  # from its own first action


def test_the_closer_is_idempotent_and_closed_sessions_stay_closed(
    store: DuckDBStore, settings: Settings
) -> None:
    store_session(store, settings, "s1", [load_action("a1", start=at(60))], at(59))
    store_session(store, settings, "s2", [load_action("a1", start=at(5))], at(4))
    # Two closers computing the same sessions at once (as several collectors would):
    sql, params = sessions.bind(
        sessions.due_sql("duckdb"),
        {"now": NOW, "inactivity_ms": 30 * MIN, "max_ms": 360 * MIN, "max_actions": 200,
         "limit": 100},
    )  # fmt: skip
    cols, rows = store.select(sql, params)
    closed = [sessions.complete(dict(zip(cols, r, strict=True)), sessions.ux.DEFAULT) for r in rows]
    table = pa.Table.from_pylist([sessions.msgspec.structs.asdict(c) for c in closed])
    assert store.close_sessions(table) == 1
    assert store.close_sessions(table) == 0
    assert sessions.close_sessions(store, settings, NOW) == 0  # nothing left to close
    before = session_row(store, "s1")
    # A late event for the closed session stays at event level.
    store_session(store, settings, "s1", [xhr("late", at(1), 90_000.0)], at(1))
    assert session_row(store, "s1") == before
    _, rows = store.select("SELECT count(*) FROM actions WHERE session_id = 's1'", [])
    assert rows == [(2,)]
    assert session_row(store, "s2")["closed"] is False


def test_the_closer_runs_on_its_timer(store: DuckDBStore, settings: Settings) -> None:
    store_session(store, settings, "s1", [load_action("a1", start=at(60))], at(59))
    clock = [NOW / 1000]
    closer = sessions.Closer(store, settings, lambda: clock[0])
    assert closer.tick([]) == 1
    store_session(store, settings, "s2", [load_action("a1", start=at(60))], at(59))
    assert closer.tick([]) == 0  # not yet: every session_close_interval_s
    clock[0] += settings.session_close_interval_s
    assert closer.tick([]) == 1


def test_ux_options_per_app(store: DuckDBStore, settings: Settings) -> None:
    events = [load_action("a1", start=at(40), duration=1000.0), xhr("x1", at(39), 1000.0),
              xhr("x2", at(38.9), 1000.0), xhr("x3", at(38.8), 20_000.0)]  # fmt: skip
    store_session(store, settings, "s1", events, at(38))
    app = App(id="shop", name="Shop", origins=[], created=0,
              config={"ux": {"last_action_frustrates": False}})  # fmt: skip
    sessions.close_sessions(store, settings, NOW, [app])
    assert session_row(store, "s1")["ux_score"] == "tolerable"


@pytest.fixture
def closed(store: DuckDBStore, settings: Settings) -> DuckDBStore:
    for sid, n, tag in (("s1", 1, None), ("s2", 3, "jane"), ("s3", 2, None)):
        events: list[dict[str, Any]] = [
            xhr(f"x{i}", at(50) + i * MIN, 1000.0 * (1 + 3 * (sid == "s3"))) for i in range(n)
        ]
        if tag:
            events.append({"kind": "user", "id": "t", "type": "user_tag", "time": at(49),
                           "value": tag})  # fmt: skip
        store_session(store, settings, sid, events, at(45))
    store_session(store, settings, "live", [xhr("x0", at(3), 100.0)], at(2))
    sessions.close_sessions(store, settings, NOW)
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    return store


def query(store: DuckDBStore, settings: Settings, **body: Any) -> list[dict[str, Any]]:
    q = Query(
        app="shop", **{"start": "2027-01-01T00:00:00Z", "end": "2027-02-01T00:00:00Z", **body}
    )
    return list(run_query(store, q, settings, dt.datetime(2027, 1, 20))["rows"])


def test_session_metrics(closed: DuckDBStore, settings: Settings) -> None:
    [row] = query(
        closed,
        settings,
        metrics=["sessions", "live_sessions", "completed_sessions", "bounce_rate",
                 "session_duration:max", "ux_satisfying_share", "ux_tolerable_share",
                 "ux_frustrating_share", "count"],
    )  # fmt: skip
    assert row["sessions"] == 4 and row["live_sessions"] == 1 and row["completed_sessions"] == 3
    assert row["bounce_rate"] == pytest.approx(1 / 3)
    assert row["session_duration:max"] == 2 * MIN + 1000.0
    assert row["ux_satisfying_share"] == pytest.approx(2 / 3)
    assert row["ux_tolerable_share"] == pytest.approx(1 / 3)
    assert row["ux_frustrating_share"] == 0
    assert row["count"] == 7


def test_session_dimensions(closed: DuckDBStore, settings: Settings) -> None:
    rows = query(
        closed, settings, metrics=["sessions"], dimensions=["ux_score"], order_by="ux_score"
    )
    assert [(r["ux_score"], r["sessions"]) for r in rows] == [
        ("satisfying", 2), ("tolerable", 1), (None, 1)]  # fmt: skip
    rows = query(closed, settings, metrics=["sessions", "bounce_rate"],
                 dimensions=["user_tag"], filters=[["user_tag", "is", "jane"]])  # fmt: skip
    assert rows == [{"user_tag": "jane", "sessions": 1, "bounce_rate": 0.0}]
    rows = query(closed, settings, metrics=["sessions"], dimensions=["entry_page", "exit_page"])
    assert rows == [{"entry_page": "/cart", "exit_page": "/cart", "sessions": 4}]


def test_apdex_and_vital_ratings_over_any_dimension(
    closed: DuckDBStore, settings: Settings
) -> None:
    rows = query(
        closed, settings, metrics=["apdex"], dimensions=["session_id"], order_by="session_id"
    )
    assert [(r["session_id"], r["apdex"], r["apdex_rating"]) for r in rows] == [
        ("live", 1.0, "excellent"), ("s1", 1.0, "excellent"), ("s2", 1.0, "excellent"),
        ("s3", 0.5, "poor")]  # fmt: skip


@pytest.fixture
async def api(closed: DuckDBStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    server = Server(
        closed, Settings.load({}, environ={}), tmp_path, now=lambda: dt.datetime(2027, 1, 20)
    )
    transport = httpx.ASGITransport(app=server.app)
    headers = {"authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c


@pytest.mark.anyio
async def test_sessions_api(api: httpx.AsyncClient) -> None:
    span = {"app": "shop", "from": "2027-01-01T00:00:00Z", "to": "2027-02-01T00:00:00Z"}
    r = await api.get("/api/v1/sessions", params=span)
    assert r.status_code == 200, r.text
    listed = r.json()["sessions"]
    assert [s["session_id"] for s in listed] == ["live", "s1", "s2", "s3"] or len(listed) == 4
    live = next(s for s in listed if s["session_id"] == "live")
    assert live["live"] is True and live["duration"] is None and live["ux_score"] is None
    r = await api.get(
        "/api/v1/sessions", params={**span, "filters": '[["user_tag", "is", "jane"]]'}
    )
    assert [s["session_id"] for s in r.json()["sessions"]] == ["s2"]
    r = await api.get("/api/v1/sessions", params={**span, "filters": '[["nope", "is", "x"]]'})
    assert r.status_code == 400
    r = await api.get("/api/v1/sessions/s2", params={"app": "shop"})
    assert r.status_code == 200
    body = r.json()
    assert body["session"]["user_tag"] == "jane" and body["session"]["live"] is False
    kinds = [(e["kind"], e["id"]) for e in body["timeline"]]
    assert kinds == [("action", "x0"), ("action", "x1"), ("user", "t"), ("action", "x2")]
    assert all(e["apdex"] == "S" for e in body["timeline"] if e["kind"] == "action")
    times = [e["time"] for e in body["timeline"]]
    assert times == sorted(times)
    r = await api.get("/api/v1/sessions/nope", params={"app": "shop"})
    assert r.status_code == 404
    r = await api.get("/api/v1/sessions/s2", params={"app": "other"})
    assert r.status_code == 404
