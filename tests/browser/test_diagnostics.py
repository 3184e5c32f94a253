"""The diagnostics module (openrum-diag.js) in real Chromium against a real `openrum serve`, on a
page built to be slow in known ways: a click handler busy for 300 ms in a named function of a
known script, a render-blocking stylesheet the test server delays by 300 ms, and a third-party
script from a second local origin that blocks the page for 200 ms while it loads."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.agent_site import (
    ROOT,
    Site,
    create_app,
    page,
    poll,
    snippet,
    stored,
)
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
BUSY = "function busy(ms) { const t = performance.now(); while (performance.now() - t < ms); }"
CHECKOUT_JS = (
    BUSY
    + """
function slowCheckout() { busy(300); document.getElementById("buy").textContent = "Bought"; }
document.getElementById("buy").addEventListener("click", slowCheckout);
"""
)
WIDGET_JS = BUSY + "\nbusy(200); // a chat widget that takes its time to start\n"
SHOP = """
<h1>Checkout</h1>
<p>Two bags of beans, 500 g each.</p>
<button id="buy">Buy now</button>
<script src="/js/checkout.js"></script>
"""


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    agent = ROOT / "agent"
    if (agent / "node_modules").exists():  # test the sources as they are now
        subprocess.run(["npm", "--prefix", str(agent), "run", "--silent", "build"], check=True)
    assert (ROOT / "openrum" / "collect" / "static" / "openrum-diag.js").exists(), "make agent"
    server = start_server(
        tmp_path_factory.mktemp("diag") / "data", env={"OPENRUM_ADMIN_PASSWORD": PASSWORD}
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[Site, Site]]:
    """The shop and a third party on another origin (another port of 127.0.0.1)."""
    shop, other = Site(), Site()
    shop.start()
    other.start()
    yield shop, other
    shop.stop()
    other.stop()


def app_for(request: pytest.FixtureRequest, collector: LiveServer, shop: Site) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:60]
    create_app(collector, name, shop.origin)
    return name


def slow_shop(collector: LiveServer, app: str, shop: Site, other: Site, **options: str) -> str:
    shop.add_file("/js/checkout.js", CHECKOUT_JS, "text/javascript")
    shop.add_file("/css/site.css", "body { font-family: serif; }", "text/css")
    other.add_file("/widget.js", WIDGET_JS, "text/javascript")
    head = (
        snippet(collector.url, app, **options)
        + '<link rel="stylesheet" href="/css/site.css?ms=300">'
        + f'<script src="{other.origin}/widget.js"></script>'
    )
    return shop.add(f"/checkout-{app}", page(head, SHOP))


def click_slowly(p: Page) -> None:
    """Click the slow button, and wait until the browser has reported the interaction (its event
    entry comes after the next paint: later than 500 ms on a busy machine)."""
    p.wait_for_timeout(300)
    p.click("#buy")
    reported = p.evaluate(
        """() => new Promise((done) => {
            setTimeout(() => done(false), 10000);
            new PerformanceObserver((list) => {
                if (list.getEntries().some((e) => e.interactionId && e.duration >= 300)) done(true);
            }).observe({ type: "event", buffered: true, durationThreshold: 16 });
        })"""
    )
    assert reported


def diagnostics(server: LiveServer, app: str, ok: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = poll(lambda: stored(server, app).get("diagnostics", []), ok, 15)
    return rows


def test_attribution_waterfall_and_third_party(
    request: pytest.FixtureRequest,
    collector: LiveServer,
    sites: tuple[Site, Site],
    ctx: BrowserContext,
) -> None:
    shop, other = sites
    app = app_for(request, collector, shop)
    p: Page = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(slow_shop(collector, app, shop, other, diag="100"))
    p.wait_for_function("window.openrum && window.openrum._diag == 2", timeout=10_000)
    click_slowly(p)
    p.goto("about:blank")
    rows = diagnostics(collector, app, lambda r: any(x["kind"] == "interaction" for x in r))
    assert errors == []

    # The slow click: its script named by function, source and invoker.
    [click] = [r for r in rows if r["kind"] == "interaction"]
    assert click["interaction"] == "button#buy" and click["inp"] is True
    assert 300 <= click["interaction_ms"] < 1000
    [handler] = [r for r in rows if r["kind"] == "script" and r["function_name"] == "slowCheckout"]
    assert handler["interaction"] == "button#buy"
    assert handler["item"] == f"{shop.origin}/js/checkout.js"
    assert handler["invoker"] == "BUTTON#buy.onclick"
    assert handler["invoker_type"] == "event-listener"
    assert handler["party"] == "first"
    assert 290 <= handler["duration"] < 600

    # The waterfall: the navigation and the render-blocking stylesheet, delayed 300 ms.
    resources = {r["item"]: r for r in rows if r["kind"] == "resource"}
    nav = resources[f"{shop.origin}/checkout-{app}"]
    assert nav["initiator"] == "navigation"
    css = resources[f"{shop.origin}/css/site.css"]
    assert css["render_blocking"] is True and css["party"] == "first"
    assert 300 <= css["duration"] < 1000
    assert 290 <= css["request"] < 1000  # the server's wait is time to first byte
    assert css["cache"] == "network" and css["transfer_size"] > 0

    # The third party: its script blocked the load for 200 ms.
    third = [r for r in rows if r["kind"] == "script" and r["origin"] == other.origin]
    assert {r["party"] for r in third} == {"third"}
    assert 190 <= sum(r["duration"] for r in third) < 500
    assert resources[f"{other.origin}/widget.js"]["render_blocking"] is True


def test_the_dashboard_shows_why(
    request: pytest.FixtureRequest,
    collector: LiveServer,
    sites: tuple[Site, Site],
    browser: Browser,
    ctx: BrowserContext,
) -> None:
    shop, other = sites
    app = app_for(request, collector, shop)
    p: Page = ctx.new_page()
    p.goto(slow_shop(collector, app, shop, other, diag="100"))
    p.wait_for_function("window.openrum && window.openrum._diag == 2", timeout=10_000)
    click_slowly(p)
    p.goto("about:blank")
    # A page of the same shop without the widget: the third party's association with LCP.
    plain = shop.add(f"/plain-{app}", page(snippet(collector.url, app, diag="100"), SHOP))
    p.goto(plain)
    p.wait_for_function("window.openrum && window.openrum._diag == 2", timeout=10_000)
    p.goto("about:blank")
    rows = diagnostics(
        collector,
        app,
        lambda r: (
            any(x["kind"] == "interaction" for x in r) and len({x["page_view_id"] for x in r}) == 2
        ),
    )
    sid = next(r["session_id"] for r in rows if r["kind"] == "interaction")

    dash = browser.new_context(viewport={"width": 1360, "height": 900})
    d = dash.new_page()
    errors: list[str] = []
    d.on("pageerror", lambda e: errors.append(str(e)))
    d.goto(collector.url + "/login")
    d.fill("#password", PASSWORD)
    d.click("button[type=submit]")
    d.wait_for_selector("nav a[aria-current=page]", state="attached")
    # Headless Chromium is synthetic traffic: the view includes it.
    d.goto(f"{collector.url}/#/performance?app={app}&users=all")
    waterfall = d.locator("section.card", has_text="Waterfall of a representative load")
    # The median of the two loads is the plain page's; the slowest decile's the checkout's.
    expect(waterfall.locator("table")).to_contain_text("/plain-", timeout=15_000)
    waterfall.get_by_role("button", name="Slowest decile").click()
    expect(waterfall.locator("table")).to_contain_text("/css/site.css", timeout=15_000)
    expect(waterfall.locator("table")).to_contain_text("render-blocking")
    third = d.locator("section.card", has_text="Third parties")
    expect(third.locator("table")).to_contain_text(other.origin.removeprefix("http://"))
    widget = third.locator("tbody tr", has_text=other.origin.removeprefix("http://"))
    expect(widget.locator("td").nth(5)).to_have_text(re.compile(r"^[+−]?\d"))  # LCP with − without
    scripts = d.locator("section.card", has_text="Scripts that make interactions slow")
    expect(scripts.locator("table")).to_contain_text("slowCheckout")
    expect(scripts.locator("table")).to_contain_text("BUTTON#buy.onclick")
    d.screenshot(
        path=str(ROOT / "docs" / "screenshots" / "performance-diagnostics.png"), full_page=True
    )

    # The session's timeline: its load opens the waterfall.
    d.goto(f"{collector.url}/#/sessions?app={app}&users=all&session={sid}")
    d.get_by_role("button", name="Waterfall").first.click()
    opened = d.locator("section.card", has_text="Waterfall of")
    expect(opened.locator("table")).to_contain_text("/css/site.css", timeout=15_000)
    assert errors == []
    dash.close()


def test_not_loaded_outside_the_sample_unless_asked(
    request: pytest.FixtureRequest,
    collector: LiveServer,
    sites: tuple[Site, Site],
    ctx: BrowserContext,
) -> None:
    shop, other = sites
    app = app_for(request, collector, shop)
    loaded: list[str] = []
    ctx.on("request", lambda r: "openrum-diag.js" in r.url and loaded.append(r.url))
    p: Page = ctx.new_page()
    p.goto(slow_shop(collector, app, shop, other, diag="0"))
    p.wait_for_load_state("load")
    p.wait_for_timeout(500)
    assert loaded == []
    # The site asks for diagnostics of this session: loaded now, and on the session's next page.
    p.evaluate("openrum.diagnose()")
    p.wait_for_function("window.openrum._diag", timeout=10_000)
    p.reload()
    p.wait_for_function("window.openrum && window.openrum._diag", timeout=10_000)
    assert len(loaded) == 2
