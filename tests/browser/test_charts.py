"""The dashboard's charts and panels in real Chromium against `openrum serve`: what the charts
span and how their text is laid out, read from the rendered ECharts instances (each chart's node
holds its own), and the stored details the pages show (Web Vitals attribution, the server /
network / frontend split of xhr actions)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page
from playwright.sync_api import Error as PlaywrightError

from tests.beacons import beacon, load_action, now_ms
from tests.browser.conftest import poll
from tests.browser.test_dashboard import demo, follow, send, settle, sign_in, stored
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
__all__ = ["demo"]  # the module's server, shared with the dashboard tests' fixture

# The x-axis extent the chart drew and its series, as [time, value] pairs.
SERIES = """node => {
  const c = node.chart;
  if (!c || c.isDisposed()) return null;
  return {
    extent: c.getModel().getComponent("xAxis", 0).axis.scale.getExtent(),
    series: c.getOption().series.map((s) => ({
      name: s.name, data: s.data.map((d) => (Array.isArray(d) ? d : d.value)) })),
  };
}"""

# The box of every text the chart paints (axis labels, markers, legends), in canvas pixels.
TEXTS = """node => {
  const c = node.chart;
  if (!c || c.isDisposed()) return null;
  const out = [];
  for (const el of c.getZr().storage.getDisplayList(true)) {
    if (el.type !== "tspan" || el.invisible || !el.style.text || el.style.opacity === 0) continue;
    const r = el.getBoundingRect().clone();
    if (el.transform) r.applyTransform(el.transform);
    out.push({ text: String(el.style.text), x: r.x, y: r.y, w: r.width, h: r.height });
  }
  return { texts: out, width: c.getWidth(), height: c.getHeight() };
}"""


def chart_in(page: Page, title: str) -> Locator:
    card = page.locator(".card", has=page.locator("h2", has_text=title))
    return card.locator("div.chart").first


def read(page: Page, title: str, script: str) -> Any:
    """``script`` on the chart of the card ``title``; live panels redraw every few seconds, so
    a chart replaced meanwhile is read again."""

    def once() -> Any:
        try:
            return chart_in(page, title).evaluate(script)
        except PlaywrightError:  # the node went away between finding and reading it
            return None

    result = poll(once, lambda r: r is not None)
    assert result is not None, f"no chart in {title!r}"
    return result


def new_app(server: LiveServer) -> str:
    app = f"charts{now_ms()}"
    status, _, raw = server.post(
        "/api/v1/apps", json.dumps({"name": "Charts", "id": app}).encode(),
        {"content-type": "application/json"},
    )  # fmt: skip
    assert status == 201, raw
    return app


def test_time_charts_span_the_range_with_empty_buckets(browser: Browser, demo: LiveServer) -> None:
    # One page load and one error in the last hour: every time chart spans the hour, its
    # empty minutes zero traffic and gaps in durations.
    app = new_app(demo)
    aid = f"one{now_ms()}"
    send(
        demo,
        beacon(app, events=[
            load_action(aid),
            {"kind": "error", "id": "e1", "type": "js", "time": now_ms() - 1000,
             "message": "boom", "name": "Error"},
        ]),
    )  # fmt: skip
    stored(demo, app, "action_type", "load")
    w = sign_in(browser, demo)
    page = w.page
    page.goto(f"{demo.url}/")  # the app list is read at start
    hour = 3600e3
    for path, title, counts in [
        ("overview", "Load time and traffic", "page views"),
        ("performance", "Server, network and frontend time", None),
        ("errors", "Errors over time", "js"),
    ]:
        page.goto(f"{demo.url}/#/{path}?app={app}&range=1h")
        settle(page)
        asked = time.time() * 1000
        drawn: dict[str, Any] = read(page, title, SERIES)
        start, end = drawn["extent"]
        assert end - start == hour, (path, (end - start) / hour)
        assert abs(end - asked) < 60e3, path
        for s in drawn["series"]:
            times = [t for t, _ in s["data"]]
            assert times[0] == start and times == sorted(times), (path, s["name"])
            assert len(times) in (60, 61), (path, s["name"], len(times))  # every minute
            values = [v for _, v in s["data"]]
            if s["name"] == counts:
                assert sum(values) == 1 and values.count(0) == len(values) - 1, (path, s["name"])
            else:
                assert len([v for v in values if v is not None]) == 1, (path, s["name"], values)
    # An action's and an error group's detail.
    page.goto(f"{demo.url}/#/actions?app={app}&range=1h")
    settle(page)
    follow(page, page.locator("main tbody tr.clickable").first)
    start, end = read(page, "Duration over time", SERIES)["extent"]
    assert end - start == hour
    page.goto(f"{demo.url}/#/errors?app={app}&range=1h")
    settle(page)
    follow(page, page.locator("main tbody tr.clickable").first)
    drawn = read(page, "Over time", SERIES)
    start, end = drawn["extent"]
    assert end - start == hour
    assert sum(v for _, v in drawn["series"][0]["data"]) == 1
    assert w.errors == [] and w.dialogs == []
    page.context.close()


def overlaps(texts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            ):
                found.append((a["text"], b["text"]))
    return found


HISTOGRAMS = ["Load time distribution"] + [
    f"{m} distribution"
    for m in ("Largest Contentful Paint", "Interaction to Next Paint", "Time to First Byte",
              "Cumulative Layout Shift")
]  # fmt: skip


@pytest.mark.parametrize("width", [1440, 390])
def test_chart_labels_do_not_overlap(browser: Browser, demo: LiveServer, width: int) -> None:
    # Every text a chart paints (axis labels and names, legends, the histograms' median and
    # p90 markers: "medi p90 704 ms" overlapped) in its own box, inside the chart.
    w = sign_in(browser, demo, width=width)
    page = w.page
    checked = 0
    for path, titles in [
        ("overview", ["Load time and traffic", "Load time distribution"]),
        ("performance", ["Server, network and frontend time", *HISTOGRAMS[1:]]),
        ("errors", ["Errors over time"]),
    ]:
        for range_ in ("7d", "24h"):
            page.goto(f"{demo.url}/#/{path}?app=demo&range={range_}")
            settle(page)
            for title in titles:
                drawn = read(page, title, TEXTS)
                texts = drawn["texts"]
                if title in HISTOGRAMS:
                    markers = [t for t in texts if t["text"].startswith(("median", "p90"))]
                    assert len(markers) == 2, (title, texts)
                assert overlaps(texts) == [], (width, title)
                for t in texts:  # inside the canvas: nothing cut off at an edge
                    assert t["x"] >= 0 and t["x"] + t["w"] <= drawn["width"], (width, title, t)
                    assert t["y"] >= 0 and t["y"] + t["h"] <= drawn["height"], (width, title, t)
                checked += 1
    assert checked == 16
    assert w.errors == [] and w.dialogs == []
    page.context.close()


def cells(page: Page, title: str, row_text: str) -> list[str]:
    card = page.locator(".card", has=page.locator("h2", has_text=title))
    row = card.locator("tbody tr", has_text=row_text)
    assert row.count() == 1, f"{row_text!r} not in {title!r}: {card.inner_text()}"
    return [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]


def test_web_vitals_attribution_and_the_xhr_split_are_shown(
    browser: Browser, demo: LiveServer
) -> None:
    app = new_app(demo)
    t = now_ms() - 60_000
    load = load_action(f"l{t}", start=t, url="https://shop.example/checkout")
    load["vitals"]["cls"]["target"] = "div.banner"
    load["vitals"]["inp"] = {
        "id": f"i{t}", "value": 350, "target": "button#pay",
        "phase": {"input_delay": 50, "processing": 220, "presentation": 80},
    }  # fmt: skip
    # An xhr action whose request came with its timing (ms since the click): server 200 ms,
    # network 100 + 50 ms, frontend 800 - 350 = 450 ms.
    xhr = {
        "kind": "action", "id": f"x{t}", "type": "xhr", "name": 'click on "Pay"',
        "start": t + 5000, "url": "https://shop.example/checkout", "duration": 800.0,
        "nt": {"requestStart": 100, "responseStart": 300, "responseEnd": 350},
    }  # fmt: skip
    send(demo, beacon(app, events=[load, xhr]))
    stored(demo, app, "action_type", "xhr")
    w = sign_in(browser, demo)
    page = w.page
    page.goto(f"{demo.url}/")  # the app list is read at start
    page.goto(f"{demo.url}/#/performance?app={app}&range=1h")
    settle(page)
    lcp = cells(page, "LCP elements", "img.hero")
    assert lcp == ["img.hero on /checkout", "1", "1.50 s ● Good"]
    inp = cells(page, "INP targets", "button#pay")[:6]
    assert inp == [
        "button#pay on /checkout",
        "1",
        "350 ms ▲ Needs improvement",
        "50 ms",
        "220 ms",
        "80 ms",
    ]
    cls = cells(page, "CLS sources", "div.banner")
    assert cls == ["div.banner on /checkout", "1", "0.050 ● Good"]
    page.goto(f"{demo.url}/#/actions?app={app}&range=1h")
    settle(page)
    split = cells(page, "Where the time of xhr actions goes", 'click on "Pay"')
    assert split[:6] == ['click on "Pay"', "1", "800 ms", "200 ms", "150 ms", "450 ms"]
    xhr_card = page.locator(".card", has_text="Where the time of xhr actions goes")
    follow(page, xhr_card.locator("tbody tr").first)
    assert cells(page, "Where the time goes", "Network") == ["Network", "150 ms"]
    # The load action: its vitals' elements, for this action only.
    page.goto(f"{demo.url}/#/actions?app={app}&range=1h&action=loading of page /checkout")
    settle(page)
    assert cells(page, "LCP elements", "img.hero")[:2] == ["img.hero", "1"]
    assert cells(page, "INP targets", "button#pay")[:2] == ["button#pay", "1"]
    assert w.errors == [] and w.dialogs == []
    page.context.close()
