"""The sessions list and a session's page on every backend (openrum/web/sessions.py): filters
over the whole range in SQL, cursor pages, live sessions' counts from their events, synthetic
traffic left out by default, and a session's page views' Web Vitals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum import sessions
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web import sessions as web_sessions
from openrum.web.api import ApiError
from openrum.web.scope import Scope
from tests.beacons import beacon, encode, load_action
from tests.conftest import UA_CHROME
from tests.store.conftest import BACKENDS, shared_store

MIN = 60_000
NOW = 1_800_000_000_000  # pinned "now" (epoch ms)
UA_MOBILE = (
    "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
)  # fmt: skip
UA_HEADLESS = UA_CHROME.replace("Chrome/", "HeadlessChrome/")
GERMANY = "203.0.113.0/24=DE|Bavaria|Munich|48.1|11.6"


def at(minutes_ago: float) -> int:
    return NOW - int(minutes_ago * MIN)


def page_load(aid: str, minutes_ago: float, path: str = "/", **extra: Any) -> dict[str, Any]:
    return load_action(aid, start=at(minutes_ago), url=f"https://shop.example{path}", **extra)


def click(aid: str, minutes_ago: float, name: str, path: str = "/cart") -> dict[str, Any]:
    return {"kind": "action", "id": aid, "type": "xhr", "start": at(minutes_ago), "name": name,
            "url": f"https://shop.example{path}", "duration": 400.0}  # fmt: skip


def not_found(eid: str, minutes_ago: float) -> dict[str, Any]:
    return {"kind": "error", "id": eid, "type": "request", "time": at(minutes_ago),
            "message": "GET /api/stock 404", "status": 404, "source": "/api/stock",
            "url": "https://shop.example/cart"}  # fmt: skip


def rage(eid: str, minutes_ago: float) -> dict[str, Any]:
    return {"kind": "user", "id": eid, "type": "rage_click", "time": at(minutes_ago),
            "count": 4, "value": "button#pay"}  # fmt: skip


# session id → (events, beacon sent, user agent, client IP, release)
SESSIONS: dict[str, tuple[list[dict[str, Any]], int, str, str, str]] = {
    "err": ([page_load("a1", 60), click("a2", 59.5, 'click on "Pay"'), not_found("e1", 59.4)],
            at(59), UA_CHROME, "203.0.113.9", "1.0"),
    "rage": ([page_load("b1", 50, "/products/shoes"), rage("r1", 49.9)],
             at(49), UA_MOBILE, "198.51.100.7", "2.0"),
    "live": ([page_load("c1", 5), click("c2", 4.8, 'click on "Buy"'), not_found("e2", 4.7),
              rage("r2", 4.6)], at(4), UA_CHROME, "203.0.113.9", "2.0"),
    "robot": ([page_load("d1", 40)], at(39), UA_HEADLESS, "203.0.113.9", "1.0"),
    **{f"plain{i}": ([page_load(f"p{i}", 38 - i)], at(37.9 - i), UA_CHROME, "203.0.113.9", "1.0")
       for i in range(5)},
}  # fmt: skip


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.load({"geo_networks": GERMANY}, environ={})


# One store per backend for the module: the tests only read it.
@pytest.fixture(scope="module", params=BACKENDS)
def filled(
    request: pytest.FixtureRequest,
    chdb_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
) -> Iterator[Store]:
    with shared_store(request.param, chdb_path, tmp_path_factory.mktemp("sessions")) as store:
        p = Pipeline(settings)
        for sid, (events, sent, ua, ip, release) in SESSIONS.items():
            body = beacon("shop", sid=sid, events=events, sent=sent,
                          env={"conn": "4g", "release": release})  # fmt: skip
            store.write(p.run([Raw(encode(body), len(events), sent, ip, ua)]))
        p.close()
        sessions.close_sessions(store, settings, NOW)
        yield store


def listed(
    store: Store, settings: Settings, filters: tuple[Any, ...] = (), **kw: Any
) -> list[dict[str, Any]]:
    """Every session the list gives, page after page (``limit`` per page); ``kw`` are the
    endpoint's parameters."""
    scope = Scope("shop", dt.datetime(2027, 1, 15), dt.datetime(2027, 1, 16), filters)
    params = {k: "true" if v is True else str(v) for k, v in kw.items() if k != "limit"}
    listing = web_sessions.parse_listing(params, scope, kw.get("limit", 100))
    found, cursor = web_sessions.list_sessions(store, listing, settings)
    while cursor:
        listing = dataclasses.replace(listing, after=web_sessions.decode_cursor(cursor))
        page, cursor = web_sessions.list_sessions(store, listing, settings)
        assert page, "a cursor to an empty page"
        found += page
    return found


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [s["session_id"] for s in found]


NEWEST_FIRST = ["live", "plain4", "plain3", "plain2", "plain1", "plain0", "robot", "rage", "err"]
REAL = [s for s in NEWEST_FIRST if s != "robot"]


def test_live_sessions_show_their_errors_and_rage_clicks(filled: Store, settings: Settings) -> None:
    found = {s["session_id"]: s for s in listed(filled, settings)}
    live = found["live"]
    assert live["live"] is True and live["duration"] is None and live["ux_score"] is None
    assert (live["actions"], live["errors"], live["rage_clicks"]) == (2, 1, 1)
    closed = found["err"]
    assert (closed["actions"], closed["errors"], closed["rage_clicks"]) == (2, 1, 0)
    page = web_sessions.timeline(filled, "shop", "live")
    assert page is not None
    assert (page["session"]["errors"], page["session"]["rage_clicks"]) == (1, 1)


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_pages_follow_each_other(filled: Store, settings: Settings, limit: int) -> None:
    assert ids(listed(filled, settings, limit=limit)) == REAL
    assert ids(listed(filled, settings, limit=limit, user_type="all")) == NEWEST_FIRST


FILTERS: list[tuple[str, tuple[Any, ...], dict[str, Any], list[str]]] = [
    ("synthetic traffic only", (), {"user_type": "synthetic"}, ["robot"]),
    ("a filter on the user type", (("user_type", "is", "synthetic"),), {}, ["robot"]),
    ("with errors: a live and a closed one", (), {"with_errors": True}, ["live", "err"]),
    ("with rage clicks", (), {"with_rage_clicks": True}, ["live", "rage"]),
    ("live only", (), {"live": True}, ["live"]),
    ("errors and rage clicks", (), {"with_errors": True, "with_rage_clicks": True}, ["live"]),
    ("UX class", (("ux_score", "is", "frustrating"),), {}, ["rage"]),
    ("user tag contains", (("user_tag", "contains", "nobody"),), {}, []),
    ("browser", (("browser", "is", "Firefox Mobile"),), {}, ["rage"]),
    ("device", (("device", "is", "mobile"),), {}, ["rage"]),
    ("country", (("country", "is", "DE"),), {}, [s for s in REAL if s != "rage"]),
    ("another country", (("country", "is_not", "DE"),), {}, ["rage"]),
    ("release", (("release", "in", ["2.0"]),), {}, ["live", "rage"]),
    ("page visited", (("page", "is", "/products/shoes"),), {}, ["rage"]),
    ("page visited, synthetic too", (("page", "is", "/"),), {"user_type": "all"},
     ["live", "plain4", "plain3", "plain2", "plain1", "plain0", "robot", "err"]),
    ("action name", (("action_name", "contains", "Buy"),), {}, ["live"]),
    ("action name and page: the same action", (("action_name", "contains", "Pay"),
                                              ("page", "is", "/")), {}, []),
    ("error type and live", (("error_type", "is", "request"),), {"live": True}, ["live"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "kw", "expected"), [c[1:] for c in FILTERS], ids=[c[0] for c in FILTERS]
)
def test_filters_run_over_the_whole_range(
    filled: Store,
    settings: Settings,
    filters: tuple[Any, ...],
    kw: dict[str, Any],
    expected: list[str],
) -> None:
    assert ids(listed(filled, settings, filters, limit=1, **kw)) == expected
    assert ids(listed(filled, settings, filters, **kw)) == expected


# The engine's SQL decides the answers, not the transport: chdb's, beside DuckDB's.
@pytest.mark.parametrize("filled", ["duckdb", "chdb"], indirect=True)
@pytest.mark.parametrize("rounds", [1, 2, 50])
def test_clickhouse_reads_candidates_round_after_round(
    filled: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch, rounds: int
) -> None:
    # One candidate of each kind per session asked: a round covers a few sessions, the next
    # goes on after them, and after the last round the rest of the range is read at once.
    # (DuckDB reads the sessions table directly: the same answers regardless.)
    monkeypatch.setattr(web_sessions, "CANDIDATES", 1)
    monkeypatch.setattr(web_sessions, "ROUNDS", rounds)
    for _, filters, kw, expected in FILTERS:
        assert ids(listed(filled, settings, filters, limit=1, **kw)) == expected
    assert ids(listed(filled, settings, limit=2, user_type="all")) == NEWEST_FIRST


def test_error_group(filled: Store, settings: Settings) -> None:
    _, rows = filled.select("SELECT DISTINCT fingerprint FROM errors WHERE app = 'shop'", [])
    [(fingerprint,)] = rows  # the same 404 in two sessions: one group
    found = listed(filled, settings, (("fingerprint", "is", fingerprint),), limit=1)
    assert ids(found) == ["live", "err"]


def test_one_duration_in_the_list_and_the_page(filled: Store, settings: Settings) -> None:
    [listed_err] = [s for s in listed(filled, settings) if s["session_id"] == "err"]
    page = web_sessions.timeline(filled, "shop", "err")
    assert page is not None
    # End of the last action − start of the first (RUM.md), whatever happened after it.
    assert listed_err["duration"] == page["session"]["duration"] == 0.5 * MIN + 400.0


def test_a_session_page_has_its_environment_and_vitals(filled: Store) -> None:
    page = web_sessions.timeline(filled, "shop", "err")
    assert page is not None
    s = page["session"]
    assert (s["browser"], s["os"], s["device"], s["country"], s["city"], s["release"]) == (
        "Chrome", "Windows", "desktop", "DE", "Munich", "1.0")  # fmt: skip
    [view] = page["vitals"]
    assert view["id"] == "a1" and view["page"] == "/"
    assert (view["lcp"], view["lcp_rating"]) == (1500.0, "good")
    assert (view["cls"], view["cls_rating"]) == (0.05, "good")
    assert (view["inp"], view["inp_rating"]) == (None, None)


@given(st.text())
def test_a_cursor_is_one_this_endpoint_gave_or_a_400(text: str) -> None:
    try:
        start, session_id = web_sessions.decode_cursor(text)
    except ApiError as e:
        assert e.status == 400
    else:
        assert web_sessions.decode_cursor(web_sessions.encode_cursor(start, session_id)) == (
            start, session_id)  # fmt: skip


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1)), st.text(min_size=1))
def test_cursors_round_trip(start: dt.datetime, session_id: str) -> None:
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    cursor = web_sessions.encode_cursor(start, session_id)
    assert web_sessions.decode_cursor(cursor) == (start, session_id)
