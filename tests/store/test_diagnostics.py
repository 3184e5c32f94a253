"""Diagnostics on every backend: a beacon's ``diag`` event through the batch step (first / third
party, known provider, masking) into the store, grouped by the query API by script source,
invoker and third-party provider; erased with its session and expired by its own retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from openrum.collect import beacon as wire
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Context, Pipeline
from openrum.settings import Settings
from openrum.store.base import App, Store
from tests.beacons import beacon, encode
from tests.conftest import UA_CHROME
from tests.store.test_contract import DAY, ask, ms

T = DAY + dt.timedelta(hours=9)
SHOP = App(id="shop", name="Shop", origins=["https://shop.example"], created=0)


def diag(i: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "diag",
        "id": f"d{i}",
        "type": "diag",
        "time": ms(T) + 5000,
        "t0": ms(T),
        "url": "https://shop.example/cart",
        "interactions": [
            {
                "start": 3000, "dur": 320, "type": "pointerdown", "target": "button#buy",
                "inp": True,
                "scripts": [{
                    "inv_type": "event-listener", "inv": "BUTTON#buy.onclick",
                    "src": "https://shop.example/app.js?v=1", "fn": "slowCheckout",
                    "start": 3005, "dur": 300, "fsl": 12,
                }],
            },
        ],
        "scripts": [
            {"inv_type": "classic-script", "src": "https://www.google-analytics.com/analytics.js",
             "start": 400, "dur": 120},
        ],
        "resources": [
            {"url": "https://shop.example/cart", "type": "navigation", "start": 0, "dur": 250,
             "dns": 5, "connect": 20, "tls": 10, "req": 150, "res": 30, "size": 9000,
             "body": 8700, "cache": "network"},
            {"url": "https://shop.example/site.css", "type": "link", "start": 260, "dur": 800,
             "req": 750, "res": 20, "size": 4000, "body": 3700, "cache": "network",
             "blocking": True},
            {"url": "https://cdn.example.net/user/jane@example.com/hero.jpg", "type": "img",
             "start": 300, "dur": 600, "size": 120000, "lcp": True},
        ],
        "origins": [{"origin": "https://fonts.gstatic.com", "count": 3, "size": 90000, "dur": 400}],
    }  # fmt: skip
    body.update(extra)
    return body


def raw(sid: str, events: list[dict[str, Any]]) -> Raw:
    body = beacon("shop", events=events, sid=sid, sent=ms(T) + 5000)
    return Raw(encode(body), len(events), ms(T) + 5000, "198.51.100.1", UA_CHROME)


@pytest.fixture
def diagnosed(store: Store) -> Store:
    store.create_app(SHOP)
    p = Pipeline(Settings.load({}, environ={}), [SHOP])
    ctx = Context(p.settings)
    batch = p.run([raw("s1", [diag(1)]), raw("s2", [diag(2)])], ctx)
    store.write(batch)
    store.write(batch)  # a re-sent beacon is stored once
    return store


def test_stored_rows_are_classified_and_masked(diagnosed: Store) -> None:
    _, rows = diagnosed.select(
        "SELECT kind, item, party, provider, category, function_name, invoker, interaction, "
        "inp, duration, style_layout, render_blocking, lcp, count, time "
        "FROM diagnostics WHERE session_id = 's1' ORDER BY kind, item",
        [],
    )
    got = [r[:14] for r in rows]
    assert got == [
        ("interaction", None, None, None, None, None, None, "button#buy", True, 320.0, None,
         False, False, None),
        ("origin", "https://fonts.gstatic.com", "third", "Google Fonts", "cdn", None, None, None,
         False, 400.0, None, False, False, 3),
        ("resource", "https://cdn.example.net/user/<email>/hero.jpg", "third", None, None, None,
         None, None, False, 600.0, None, False, True, None),
        ("resource", "https://shop.example/cart", "first", None, None, None, None, None, False,
         250.0, None, False, False, None),
        ("resource", "https://shop.example/site.css", "first", None, None, None, None, None,
         False, 800.0, None, True, False, None),
        ("script", "https://shop.example/app.js", "first", None, None, "slowCheckout",
         "BUTTON#buy.onclick", "button#buy", True, 300.0, 12.0, False, False, None),
        ("script", "https://www.google-analytics.com/analytics.js", "third", "Google Analytics",
         "analytics", None, None, None, False, 120.0, None, False, False, None),
    ]  # fmt: skip
    # Each item at its own time: the page's time origin plus its start.
    times = {r[0]: r[14] for r in rows if r[0] == "interaction"}
    assert times == {"interaction": T + dt.timedelta(seconds=3)}


def test_grouped_by_script_invoker_and_provider(diagnosed: Store) -> None:
    rows = ask(
        diagnosed, metrics=["diag_count", "diag_duration:p75", "diag_page_views"],
        dimensions=["script_source", "function_name", "invoker"],
        filters=[["diag_kind", "is", "script"], ["interaction", "is_not", None]],
    )  # fmt: skip
    assert rows == [
        {"script_source": "https://shop.example/app.js", "function_name": "slowCheckout",
         "invoker": "BUTTON#buy.onclick", "diag_count": 2, "diag_duration:p75": 300.0,
         "diag_page_views": 2},
    ]  # fmt: skip
    # As the dashboard asks: approximate percentiles (no rollup keeps diagnostics).
    rows = ask(diagnosed, False, metrics=["diag_duration:p75", "diag_end:max"],
               dimensions=["diag_kind"], order_by="diag_kind")  # fmt: skip
    assert [(r["diag_kind"], r["diag_end:max"]) for r in rows] == [
        ("interaction", 3320.0), ("origin", None), ("resource", 1060.0), ("script", 3305.0),
    ]  # fmt: skip
    assert 600 <= rows[2]["diag_duration:p75"] <= 800  # exact: 750; sketches of 6 values differ
    rows = ask(
        diagnosed, metrics=["diag_total_ms", "diag_bytes", "diag_page_views"],
        dimensions=["third_party", "third_party_category"],
        filters=[["party", "is", "third"], ["third_party", "is_not", None]],
        order_by="third_party",
    )  # fmt: skip
    assert rows == [
        {"third_party": "Google Analytics", "third_party_category": "analytics",
         "diag_total_ms": 240.0, "diag_bytes": None, "diag_page_views": 2},
        {"third_party": "Google Fonts", "third_party_category": "cdn", "diag_total_ms": 800.0,
         "diag_bytes": 180000, "diag_page_views": 2},
    ]  # fmt: skip


def test_erased_with_the_session_and_expired_on_its_own(diagnosed: Store) -> None:
    assert diagnosed.export("shop", ["s1"])["diagnostics"]
    assert diagnosed.erase("shop", ["s1"])["diagnostics"] == 7
    assert diagnosed.expire_diagnostics("shop", ms(T)) == 0
    assert diagnosed.expire_diagnostics("shop", ms(T) + 10_000) == 7
    _, rows = diagnosed.select("SELECT count(*) FROM diagnostics", [])
    assert rows[0][0] == 0


def test_limits_and_bad_timings() -> None:
    too_many = diag(1, scripts=[{"inv_type": "x", "start": 0, "dur": 1}] * 21)
    found = wire.decode(encode(beacon("shop", events=[too_many])), 200)
    assert isinstance(found, wire.Drop) and found.reason == "invalid_field"
    assert "scripts" in found.detail
    p = Pipeline(Settings.load({}, environ={}), [SHOP])
    ctx = Context(p.settings)
    slow = diag(1, origins=[], resources=[{"url": "https://shop.example/x.js", "type": "script",
                                           "start": 0, "dur": 9e9}])  # fmt: skip
    batch = p.run([raw("s1", [slow])], ctx)
    assert ctx.drops["diag_invalid_timing"] == 1
    assert batch.diagnostics is not None and batch.diagnostics.num_rows == 3
    assert msgspec.json.decode(encode(slow))["kind"] == "diag"
