"""The query model on a real DuckDB file: metrics, dimensions, filters, time series, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec
import pytest

from openrum.collect.beacon import Action, Beacon, Env, Error
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query, QueryError
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.duckdb import DuckDBStore
from tests.conftest import UA_CHROME

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
NOW_MS = int(NOW.replace(tzinfo=dt.UTC).timestamp() * 1000)
UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def received(
    sid: str,
    ua: str,
    actions: list[Action],
    errors: list[Error] | None = None,
    release: str = "1.0",
) -> Raw:
    b = Beacon(
        v=1,
        app="shop",
        sid=sid,
        page=f"pv-{sid}",
        sent=NOW_MS - 1000,
        events=[*actions, *(errors or [])],
        env=Env(release=release, conn="4g"),
    )
    return Raw(msgspec.json.encode(b), len(b.events), NOW_MS - 1000, "198.51.100.1", ua)


def load(aid: str, url: str, duration: float, lcp: float, minutes_ago: int) -> Action:
    from openrum.collect.beacon import Vital

    return Action(
        id=aid,
        type="load",
        start=NOW_MS - minutes_ago * 60_000,
        url=url,
        duration=duration,
        vitals={"lcp": Vital(id="l" + aid, value=lcp)},
    )


@pytest.fixture
def filled(store: DuckDBStore, settings: Settings) -> DuckDBStore:
    items = [
        # desktop Chrome: three loads of /, one of /cart, satisfied
        received(
            "s1",
            UA_CHROME,
            [
                load("a1", "https://shop.example/", 1000, 1000, 30),
                load("a2", "https://shop.example/", 2000, 2000, 29),
                load("a3", "https://shop.example/cart", 2500, 3000, 28),
            ],
        ),
        received("s2", UA_CHROME, [load("a1", "https://shop.example/", 3000, 4000, 90)]),
        # iPhone: slow, one tolerating, one frustrated, and an xhr action with an error
        received(
            "s3",
            UA_IPHONE,
            [
                load("a1", "https://shop.example/", 5000, 5000, 10),
                load("a2", "https://shop.example/cart", 13000, 6000, 9),
                Action(
                    id="x1",
                    type="xhr",
                    start=NOW_MS - 8 * 60_000,
                    url="https://shop.example/cart",
                    name='click on "Pay now"',
                    duration=800,
                ),
            ],
            [
                Error(
                    id="e1",
                    type="js",
                    time=NOW_MS - 8 * 60_000,
                    message="boom",
                    action="x1",
                    url="https://shop.example/cart",
                ),
                Error(
                    id="e2",
                    type="request",
                    time=NOW_MS - 8 * 60_000,
                    message="500",
                    count=2,
                    url="https://shop.example/cart",
                ),
            ],
            release="2.0",
        ),
    ]
    store.write(Pipeline(settings).run(items))
    return store


def q(store: DuckDBStore, settings: Settings, **body: Any) -> list[dict[str, Any]]:
    query = Query(app="shop", **body)
    # Exact percentiles: the expected values below are computed by hand.
    exact = dataclasses.replace(settings, query_approximate_percentiles=False)
    rows: list[dict[str, Any]] = run_query(store, query, exact, now=NOW)["rows"]
    return rows


def test_totals(filled: DuckDBStore, settings: Settings) -> None:
    [row] = q(filled, settings, metrics=["count", "page_views", "sessions", "errors"])
    assert row == {"count": 7, "page_views": 6, "sessions": 3, "errors": 3}


def test_apdex_by_device_with_rating(filled: DuckDBStore, settings: Settings) -> None:
    rows = q(filled, settings, metrics=["apdex"], dimensions=["device"], order_by="device")
    # desktop: 4 satisfied (≤ 3 s) → 1.0; mobile: tolerating 5 s, frustrated 13 s,
    # xhr with an error → frustrated: (0 + 1/2) / 3.
    assert rows == [
        {"device": "desktop", "apdex": 1.0, "apdex_rating": "excellent"},
        {"device": "mobile", "apdex": pytest.approx(1 / 6), "apdex_rating": "unacceptable"},
    ]


def test_percentiles_and_stats(filled: DuckDBStore, settings: Settings) -> None:
    [row] = q(
        filled,
        settings,
        metrics=[
            "lcp:p50",
            "lcp:avg",
            "lcp:min",
            "lcp:max",
            "duration:p75",
            "lcp:good_share",
            "lcp:poor_share",
        ],
        filters=[["action_type", "is", "load"]],
    )
    lcps = sorted([1000, 2000, 3000, 4000, 5000, 6000])
    assert row["lcp:p50"] == pytest.approx(3500)
    assert row["lcp:avg"] == pytest.approx(sum(lcps) / 6)
    assert (row["lcp:min"], row["lcp:max"]) == (1000, 6000)
    assert row["duration:p75"] == pytest.approx(4500)
    assert row["lcp:good_share"] == pytest.approx(2 / 6)  # ≤ 2500 ms
    assert row["lcp:poor_share"] == pytest.approx(2 / 6)  # > 4000 ms


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ([["browser", "is", "Mobile Safari"]], 3),
        ([["browser", "is_not", "Mobile Safari"]], 4),
        ([["page", "contains", "car"]], 3),
        ([["page", "in", ["/", "/nothing"]]], 4),
        ([["page", "in", []]], None),
        ([["device", "is", "desktop"], ["page", "is", "/cart"]], 1),
        ([["release", "is", "2.0"]], 3),
        ([["browser_version", "is", 131.0]], 4),  # numbers compare as text
        ([["page", "is", "'; DROP TABLE actions; --"]], None),
    ],
)
def test_filters_compose(
    filled: DuckDBStore, settings: Settings, filters: list[Any], count: int | None
) -> None:
    [row] = q(filled, settings, metrics=["count"], filters=filters)
    assert row["count"] == (count or 0)
    assert filled.select("SELECT count(*) FROM actions", [])[1] == [(7,)]


def test_time_series(filled: DuckDBStore, settings: Settings) -> None:
    rows = q(
        filled,
        settings,
        metrics=["count", "errors"],
        interval="1h",
        **{"start": "2026-11-20T10:00:00Z"},
    )
    assert rows == [
        {"time": "2026-11-20T10:00:00.000Z", "count": 1, "errors": None},
        {"time": "2026-11-20T11:00:00.000Z", "count": 6, "errors": 3},
    ]


def test_time_range_excludes(filled: DuckDBStore, settings: Settings) -> None:
    [row] = q(filled, settings, metrics=["count"], start="2026-11-20T11:45:00+00:00")
    assert row["count"] == 3


def test_errors_by_dimension_joined_with_actions(filled: DuckDBStore, settings: Settings) -> None:
    rows = q(
        filled,
        settings,
        metrics=["count", "errors", "error_sessions"],
        dimensions=["page"],
        order_by="page",
    )
    assert rows == [
        {"page": "/", "count": 4, "errors": None, "error_sessions": None},
        {"page": "/cart", "count": 3, "errors": 3, "error_sessions": 1},
    ]


def test_order_and_limit(filled: DuckDBStore, settings: Settings) -> None:
    rows = q(filled, settings, metrics=["count"], dimensions=["page"], order_by="-count", limit=1)
    assert rows == [{"page": "/", "count": 4}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"metrics": ["nope"]}, "unknown metric 'nope'; valid: count"),
        ({"metrics": ["lcp:p42"]}, "unknown metric"),
        ({"metrics": []}, "at least one metric"),
        (
            {"metrics": ["count"], "dimensions": ["shoe_size"]},
            "unknown dimension 'shoe_size'; valid:",
        ),
        ({"metrics": ["count"], "filters": [["page", "like", "x"]]}, "unknown filter operator"),
        ({"metrics": ["count"], "filters": [["page", "in", "x"]]}, "must be a list"),
        ({"metrics": ["count"], "interval": "7m"}, "unknown interval"),
        ({"metrics": ["count"], "start": "yesterday"}, "not an ISO-8601 time"),
        ({"metrics": ["count"], "order_by": "page"}, "order_by 'page' is not a column"),
        ({"metrics": ["count"], "limit": 0}, "limit must be between"),
        ({"metrics": ["errors"], "dimensions": ["action_name"]}, "not available with metric"),
        (
            {"metrics": ["count"], "start": "2026-11-20T12:00:00", "end": "2026-11-20T11:00:00"},
            "'from' must be before 'to'",
        ),
    ],
)
def test_invalid_queries_explain_themselves(
    filled: DuckDBStore, settings: Settings, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        q(filled, settings, **body)


def test_approximate_percentiles_are_close(filled: DuckDBStore, settings: Settings) -> None:
    assert settings.query_approximate_percentiles  # the default: bounded memory
    query = Query(
        app="shop", metrics=["lcp:p50", "lcp:max"], filters=[["action_type", "is", "load"]]
    )
    [row] = run_query(filled, query, settings, now=NOW)["rows"]
    # exact: 3500, between 3000 and 4000; a log-spaced bucket is exact to ±1 %
    assert 3000 * 0.99 <= row["lcp:p50"] <= 4000 * 1.01
    assert row["lcp:max"] == 6000


def test_a_percentile_writes_its_histogram_once() -> None:
    # DuckDB binds an expression each time it is written: binding a percentile's histogram and
    # folds six times cost more than running them (bench/alerts).
    sql = DIALECTS["duckdb"].quantile("lcp", 0.75)
    assert sql.count("histogram(") == 1 and sql.count("list_reduce(") == 2
    exact = DIALECTS["duckdb"].quantile("lcp", 0.75, approximate=False)
    assert exact.count("list(") == 1 and exact.count("list_reduce(") == 2
