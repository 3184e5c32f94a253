"""The agent (openrum.js) in real Chromium against a real `openrum serve`.

Each test loads pages of a test site (another origin: CORS and origin checks are exercised),
leaves them so the agent sends its beacon, and reads the stored data back through the query API
(POST /api/v1/query) and the export API (raw rows).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.agent_site import (
    CHROMIUM_ARGS,
    ROOT,
    Site,
    chromium,
    create_app,
    page,
    poll,
    query,
    sink_beacons,
    snippet,
    stored,
)
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser

BUSY = "function busy(ms) { const t = performance.now(); while (performance.now() - t < ms); }"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    agent = ROOT / "agent"
    if (agent / "node_modules").exists():  # test the sources as they are now
        subprocess.run(["npm", "--prefix", str(agent), "run", "--silent", "build"], check=True)
    assert (ROOT / "openrum" / "collect" / "static" / "openrum.js").exists(), "run make agent"
    server = start_server(tmp_path_factory.mktemp("agent") / "data")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def chrome() -> Iterator[Browser]:
    with sync_playwright() as p:
        # Playwright turns the back/forward cache off by default; these tests need it.
        b = p.chromium.launch(
            executable_path=chromium(),
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield b
        b.close()


@pytest.fixture
def ctx(chrome: Browser) -> Iterator[BrowserContext]:
    c = chrome.new_context()
    yield c
    c.close()


@pytest.fixture
def app(request: pytest.FixtureRequest, collector: LiveServer, site: Site) -> str:
    """A new application for each test, allowed from the test site's origin."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:60]
    create_app(collector, name, site.origin)
    return name


def open_page(ctx: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """Open ``url``; returns the page and the errors the page throws (the agent must add none)."""
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(url)
    p.wait_for_function("window.openrum !== undefined")
    return p, errors


def leave(p: Page) -> None:
    """Navigate away: pagehide, so the agent sends what it has."""
    p.goto("about:blank")


def actions(server: LiveServer, app: str, n: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The stored actions of ``app`` once there are at least ``n``."""
    rows: list[dict[str, Any]] = poll(
        lambda: stored(server, app).get("actions", []), lambda r: len(r) >= n, timeout
    )
    return rows


# -- the load action and Web Vitals ---------------------------------------------------------
LOAD_PAGE = """
<h1 style="font-size:40px">Fresh coffee, delivered</h1>
<div id="slot"></div>
<img id="hero" class="banner wide" src="/img.png?ms=400" width="600" height="300">
<p>Our beans are roasted every morning.</p>
<button id="slow" onclick="busy(150); this.textContent = 'Done'">Slow button</button>
<script>
{busy}
busy(80); // a long task during load
setTimeout(() => {{
  const d = document.createElement("div");
  d.style.height = "150px";
  d.textContent = "Late banner";
  document.getElementById("slot").appendChild(d);
}}, 150);
</script>
"""


def test_load_action_timings_vitals_and_environment(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    url = site.add(
        "/load",
        page(snippet(collector.url, app, release="2026.11.3"), LOAD_PAGE.format(busy=BUSY)),
    )
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    p.click("#slow")
    p.wait_for_timeout(300)
    leave(p)
    [load] = actions(collector, app, 1)
    assert load["action_type"] == "load"
    assert load["page"] == "/load"
    assert load["url"].endswith("/load")
    # Navigation Timing breakdown and the Dynatrace duration (loadEventEnd, after the image).
    for k in ("request", "response", "dom_interactive", "dom_content_loaded", "dom_complete"):
        assert load[k] is not None and load[k] >= 0, k
    assert load["load_event_end"] >= 400  # the image took 400 ms
    assert load["duration"] == pytest.approx(load["load_event_end"], abs=2)
    assert load["server_time"] is not None and load["frontend_time"] is not None
    # Web Vitals, with attribution.
    assert 400 <= load["lcp"] < 5000
    assert load["lcp_target"] == "img#hero"
    assert 0 < load["fcp"] <= load["lcp"]
    assert 0 <= load["ttfb"] <= load["fcp"]
    assert load["cls"] > 0
    assert load["cls_target"] == "img#hero"  # the largest shifted element
    assert load["inp"] >= 150
    assert load["inp_target"] == "button#slow"
    assert load["inp_processing"] >= 140
    assert load["long_tasks"] >= 1 and load["long_task_ms"] >= 80
    assert load["release"] == "2026.11.3"
    assert load["browser"] in ("Chrome", "HeadlessChrome", "Chromium")
    assert errors == []


def test_load_lasts_until_requests_started_by_onload_handlers_end(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    body = """<h1>Dashboard</h1><script>
    addEventListener("load", () => fetch("/api?ms=400").then((r) => r.json())
        .then(() => fetch("/api?ms=100")));  // nested in the first one's callback
    </script>"""
    p, errors = open_page(ctx, site.add("/tail", page(snippet(collector.url, app), body)))
    p.wait_for_timeout(900)
    leave(p)
    [load] = actions(collector, app, 1)
    assert load["requests"] == 2
    assert load["duration"] >= load["load_event_end"] + 500
    assert load["duration"] < load["load_event_end"] + 1500
    assert errors == []


# -- user actions ---------------------------------------------------------------------------
ACTIONS_PAGE = """
<button id="pay" onclick="pay(this)"><span>Pay now</span></button>
<button id="browse" onclick="this.textContent = 'Browsing'">Browse</button>
<button id="late" onclick="setTimeout(() => fetch('/api?late=1'), 300)">Later</button>
<input id="q" name="q" placeholder="Search" oninput="fetch('/api?q=' + this.value)">
<div id="out"></div>
<script>
function pay(button) {
  fetch("/api?ms=150").then((r) => r.json())
    .then(() => fetch("/api?ms=100&step=2"))  // a request in the first one's callback
    .then(() => { document.getElementById("out").textContent = "Paid"; });
}
</script>
"""


def test_click_then_fetch_is_an_xhr_action_named_after_the_button(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    p, errors = open_page(
        ctx, site.add("/checkout", page(snippet(collector.url, app), ACTIONS_PAGE))
    )
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    p.click("#pay span")
    p.wait_for_timeout(700)
    p.click("#browse")  # no request: no action
    p.click("#late")  # a request 300 ms later is not the click's
    p.wait_for_timeout(600)
    p.type("#q", "bob@example.com", delay=0)  # each key press fetches
    p.wait_for_timeout(400)
    leave(p)
    rows = actions(collector, app, 3)
    xhr = {r["action_name"]: r for r in rows if r["action_type"] == "xhr"}
    pay = xhr.pop('click on "Pay now"')
    assert pay["requests"] == 2
    assert 250 <= pay["duration"] < 2000
    assert pay["page"] == "/checkout"
    assert set(xhr) == {'keypress on "q"'}, xhr  # the typed value never appears
    assert all("bob" not in r["action_name"] for r in rows)
    assert errors == []


ROUTES_PAGE = """
<nav><a id="products" href="/spa/products">Products</a> <a id="cart" href="#/cart">Cart</a></nav>
<main id="view">Home</main>
<footer>Shipping and returns</footer>
<script>
document.getElementById("products").onclick = (e) => {
  e.preventDefault();
  history.pushState({}, "", "/spa/products");
  // Rendered 600 ms later: shifts within 500 ms of an input do not count to CLS.
  fetch("/api?ms=600").then((r) => r.json()).then(() => {
    document.getElementById("view").innerHTML = '<div style="height:200px">Products</div>';
  });
};
</script>
"""


@pytest.mark.parametrize("hash_routes", [True, False])
def test_route_changes_are_actions_with_their_own_vitals(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str, hash_routes: bool
) -> None:
    options = {} if hash_routes else {"hash": "0"}  # `#/…` fragments are routes by default
    kind = "hash" if hash_routes else "plain"
    url = site.add(f"/spa/{kind}", page(snippet(collector.url, app, **options), ROUTES_PAGE))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    p.click("#products")
    p.wait_for_timeout(1000)
    p.go_back(wait_until="commit")  # popstate
    p.wait_for_timeout(300)
    p.click("#cart")  # a hash route, unless the app turned them off
    p.wait_for_timeout(300)
    leave(p)
    n = 4 if hash_routes else 3
    rows = actions(collector, app, n)
    assert [r["action_type"] for r in sorted(rows, key=lambda r: r["time"])] == [
        "load",
        "route_change",
        "route_change",
        *(["route_change"] if hash_routes else []),
    ]
    load, products, back = sorted(rows, key=lambda r: r["time"])[:3]
    assert products["page"] == "/spa/products"
    assert products["action_name"] == "route to /spa/products"
    assert products["trigger"] == 'click on "Products"' and back["trigger"] is None
    assert products["requests"] == 1 and 600 <= products["duration"] < 2000
    assert products["cls"] > 0 and load["cls"] == 0  # the shift belongs to the new view
    assert back["page"] == f"/spa/{kind}"
    events = stored(collector, app)["user_events"]
    assert [e["event_type"] for e in events].count("page_change") == n - 1
    assert errors == []


# -- single-page apps as found on real sites -------------------------------------------------
# A docs site with a small "PJAX" script: a click on a link fetches the next page's HTML, swaps
# the main element and pushes the URL — either once the fetch is done ("after"), or at once,
# in the click's own task ("same_task").
DOCS_PAGE = """
<nav><a id="guide" href="/docs/guide/">Guide</a> <a href="#install">Install</a></nav>
<main id="main"><h1>Docs</h1><h2 id="install">Install</h2></main>
<script>
window.PUSH = "{push}";
document.getElementById("guide").addEventListener("click", (e) => {{
  e.preventDefault();
  const href = e.currentTarget.getAttribute("href");
  const swap = (html) => {{ document.getElementById("main").innerHTML = html; }};
  const got = fetch(href + "?ms=200&pjax=1").then((r) => r.text());
  if (PUSH === "same_task") history.pushState({{}}, "", href);
  got.then((html) => {{ swap(html); if (PUSH === "after") history.pushState({{}}, "", href); }});
}});
</script>
"""
CLICKED_AT = """document.addEventListener("click", (e) => { window.clickedAt = e.timeStamp; },
    {capture: true, once: true});"""


@pytest.mark.parametrize("push", ["after", "same_task"])
def test_a_click_that_changes_the_url_is_one_route_change(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str, push: str
) -> None:
    head = snippet(collector.url, app) + f"<script>{CLICKED_AT}</script>"
    url = site.add("/docs/", page(head, DOCS_PAGE.format(push=push), title="Docs"))
    site.add("/docs/guide/", "<h1>Guide</h1><p>Read this first.</p>")
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    p.click("#guide")
    p.wait_for_url("**/docs/guide/")
    p.wait_for_timeout(400)
    clicked = p.evaluate("window.clickedAt")
    leave(p)
    rows = sorted(actions(collector, app, 2), key=lambda r: r["time"])
    assert [r["action_type"] for r in rows] == ["load", "route_change"], rows
    route = rows[1]
    assert route["action_name"] == "route to /docs/guide/"
    assert route["trigger"] == 'click on "Guide"'
    assert route["page"] == "/docs/guide/"
    assert route["requests"] == 1  # the page's fetch belongs to it
    assert 200 <= route["duration"] < 2000

    # It starts at the click: as long after the load's start (navigation start) as the click.
    def at(row: dict[str, Any]) -> float:
        return dt.datetime.fromisoformat(row["time"]).timestamp() * 1000

    assert at(route) - at(rows[0]) == pytest.approx(clicked, abs=2)
    # The trigger is a dimension: filter by it.
    by_trigger = query(collector, app, ["count"], ["action_type"],
                       [["trigger", "is", 'click on "Guide"']])  # fmt: skip
    assert by_trigger == [{"action_type": "route_change", "count": 1}]
    assert errors == []


# A rustdoc-style search page: typing a search pushes `?search=…` on the same path; refining it
# replaces the query; opening a result replaces the path; in-page anchors are not routes.
SEARCH_PAGE = """
<input id="q" name="search" placeholder="Search">
<button id="go" onclick="search()">Search</button>
<button id="refine" onclick="go('?search=HashMap&filter-crate=std')">Only std</button>
<button id="open" onclick="go('/std/collections/struct.HashMap.html')">Open</button>
<a id="top" href="#main-content">Skip to main content</a>
<div id="results"></div><div id="main-content">Main</div>
<script>
const go = (url) => history.replaceState(null, "", url);
function search() {
  history.pushState(null, "", "?search=" + encodeURIComponent(document.getElementById("q").value));
  document.getElementById("results").textContent = "Results";
}
</script>
"""


def test_query_only_soft_navigations_are_route_changes(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    url = site.add("/std/index.html", page(snippet(collector.url, app), SEARCH_PAGE))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.fill("#q", "HashMap")
    p.click("#go")  # pushState ?search=HashMap: a route change
    p.wait_for_timeout(300)
    p.click("#refine")  # replaceState of the query only: not one
    p.wait_for_timeout(300)
    p.click("#top")  # an anchor: not one
    p.wait_for_timeout(300)
    p.click("#open")  # replaceState of the path: a route change
    p.wait_for_timeout(300)
    p.go_back(wait_until="commit")  # popstate to /std/index.html: a route change
    p.wait_for_timeout(300)
    leave(p)
    rows = sorted(actions(collector, app, 4), key=lambda r: r["time"])
    p.wait_for_timeout(500)
    rows = sorted(stored(collector, app)["actions"], key=lambda r: r["time"])
    assert [(r["action_type"], r["page"]) for r in rows] == [
        ("load", "/std/index.html"),
        ("route_change", "/std/index.html"),
        ("route_change", "/std/collections/struct.HashMap.html"),
        ("route_change", "/std/index.html"),
    ]
    assert rows[1]["trigger"] == 'click on "Search"'
    assert all("search=" not in r["url"] for r in rows), "the query is still not sent"
    assert errors == []


# A hash-routed shop (the routes are fragments `#/…`), with an in-page anchor.
HASH_SHOP = """
<nav><a id="orders" href="#/orders">Orders</a> <a id="order" href="#/orders/12345">Order</a>
<a id="faq" href="#faq">FAQ</a></nav><main id="view">Home</main><h2 id="faq">FAQ</h2>
<script>
addEventListener("hashchange", () => {
  document.getElementById("view").textContent = location.hash;
});
</script>
"""


@pytest.mark.parametrize("keep_fragment", [None, "none"])
def test_hash_routes_work_with_the_apps_snippet_and_no_setting(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str, keep_fragment: str | None
) -> None:
    if keep_fragment:
        status, _, raw = collector.request(
            "PATCH", f"/api/v1/apps/{app}",
            json.dumps({"config": {"keep_fragment": keep_fragment}}).encode(),
            {"content-type": "application/json"},
        )  # fmt: skip
        assert status == 200, raw
    # The snippet exactly as the application's settings show it.
    status, _, raw = collector.request("GET", "/api/v1/apps")
    [shown] = [a["snippet"] for a in json.loads(raw)["apps"] if a["id"] == app]
    base = f"/shop/{keep_fragment or 'default'}"
    url = site.add(base, page(shown, HASH_SHOP))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    for link in ("#faq", "#orders", "#order"):
        p.click(link)
        p.wait_for_timeout(300)
    leave(p)
    expected = [("load", base)]
    if keep_fragment is None:  # routes by default: every route a page, the anchor none
        expected += [("route_change", f"{base}#/orders"), ("route_change", f"{base}#/orders/***")]
    rows = sorted(actions(collector, app, len(expected)), key=lambda r: r["time"])
    p.wait_for_timeout(500)
    rows = sorted(stored(collector, app)["actions"], key=lambda r: r["time"])
    assert [(r["action_type"], r["page"]) for r in rows] == expected
    assert errors == []


# A page that polls in the background: its request fails 2.3 s after the load ended, with no
# user input near it.
POLLING_PAGE = """<h1>Status</h1><script>
addEventListener("load", () => setTimeout(() => {
  window.polled = Date.now();
  fetch("/status/404");
}, 2300));
</script>"""


def test_a_background_request_error_changes_no_finished_action(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    p, errors = open_page(
        ctx, site.add("/status-page", page(snippet(collector.url, app), POLLING_PAGE))
    )
    p.wait_for_load_state("load")
    p.wait_for_function("window.polled !== undefined", timeout=5000)
    p.wait_for_timeout(300)
    leave(p)
    data = poll(lambda: stored(collector, app), lambda d: d.get("errors") and d.get("actions"))
    assert set(data) >= {"actions", "errors"}, data
    [load] = data["actions"]
    assert load["action_type"] == "load"
    assert load["errors"] == 0 and load["apdex"] != "F"
    assert load["duration"] < 2300  # its duration is not stretched to the request
    [error] = data["errors"]
    assert error["message"].startswith("HTTP 404") and error["status"] == 404
    assert error["action_event_id"] is None  # the page view's, no action's
    assert error["page_view_id"] == load["page_view_id"]
    # Counted and grouped like any error, and shown on the session.
    [row] = query(collector, app, ["errors"], ["fingerprint"])
    assert row["errors"] == 1
    status, _, raw = collector.request("GET", f"/api/v1/sessions/{load['session_id']}?app={app}")
    assert status == 200, raw
    kinds = [e["kind"] for e in json.loads(raw)["timeline"]]
    assert kinds.count("error") == 1
    assert errors == []


# -- errors ---------------------------------------------------------------------------------
ERRORS_PAGE = """
<button id="throw" onclick="setTimeout(() => {{ null.pay(); }})">Throw</button>
<button id="reject" onclick="Promise.reject(new RangeError('card declined'))">Reject</button>
<button id="requests" onclick="requests()">Requests</button>
<img src="/missing.png" alt="">
<button id="csp" onclick="this.appendChild(new Image()).src = '{collector}/healthz'">CSP</button>
<script>
function requests() {{
  fetch("/status/404");
  fetch("/status/500");
  const x = new XMLHttpRequest();
  x.open("POST", "/status/500?token=secret");
  x.send("{{}}");
  fetch("http://127.0.0.1:{closed}/nothing").catch(() => {{}});
  const t = new XMLHttpRequest();
  t.open("GET", "/api?ms=600");
  t.timeout = 100;
  t.send();
}}
</script>
"""


def test_errors_of_every_kind_are_stored_deduplicated(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    from tests.conftest import free_port

    body = ERRORS_PAGE.format(collector=collector.url, closed=free_port())
    # Images from the collector's origin are blocked: a CSP violation.
    url = site.add(
        "/pay",
        page(snippet(collector.url, app), body),
        {"content-security-policy": "img-src 'self'"},
    )
    p, _ = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.wait_for_timeout(200)
    for _ in range(3):
        p.click("#throw")
    p.click("#reject")
    p.click("#requests")
    p.click("#csp")  # an image from another origin, which the page's CSP forbids
    p.wait_for_timeout(900)
    leave(p)
    errors = poll(lambda: stored(collector, app).get("errors", []), lambda r: len(r) >= 7, 10)
    p.wait_for_timeout(500)  # anything more (a second error for the blocked image) is in by now
    errors = stored(collector, app)["errors"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in errors:
        by_type.setdefault(e["error_type"], []).append(e)
    js = {e["error_name"]: e for e in by_type["js"]}
    assert len(js) == 2
    thrown, rejected = js["TypeError"], js["RangeError"]
    # Chromium's ErrorEvent.message is "Uncaught TypeError: …": the type is stored apart.
    assert thrown["message"] == "Cannot read properties of null (reading 'pay')"
    assert thrown["error_name"] == "TypeError"
    assert thrown["count"] == 3  # three times the same error: one event
    assert thrown["stack"].startswith("at ") and "/pay:" in thrown["stack"]
    assert thrown["line"] and thrown["col"]
    assert rejected["message"] == "Unhandled rejection: card declined"
    assert rejected["error_name"] == "RangeError"
    requests = {e["message"]: e for e in by_type["request"]}
    statuses = {e["status"]: e["count"] for e in requests.values() if e["status"]}
    assert statuses == {404: 1, 500: 2}  # fetch and XHR 500s of one URL: one error, twice
    assert any(m.startswith("network error") for m in requests)
    assert any(m.startswith("timeout") for m in requests)
    assert all("secret" not in m for m in requests), "query strings are stripped"
    # The missing image (failed before the agent ran: from Resource Timing), its URL whole (a
    # host and port are not personal data); the image the CSP blocked is one error, the CSP
    # violation (not also a failed resource).
    [resource] = by_type["resource"]
    assert resource["message"] == f"failed to load img {site.origin}/missing.png"
    [csp] = by_type["csp"]
    assert csp["message"].startswith("img-src blocked") and csp["message"].endswith("/healthz")
    assert csp["source"].endswith("/healthz")  # the blocked URL
    # The request errors count to the xhr action of the click, which is frustrated.
    rows = actions(collector, app, 2)
    [xhr] = [r for r in rows if r["action_type"] == "xhr"]
    assert xhr["action_name"] == 'click on "Requests"'
    assert xhr["errors"] >= 1 and xhr["apdex"] == "F"


# -- user events ----------------------------------------------------------------------------
def test_rage_clicks_and_page_changes(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    body = '<div id="stuck" style="width:300px;height:200px">Add to cart</div>'
    p, errors = open_page(ctx, site.add("/rage", page(snippet(collector.url, app), body)))
    p.wait_for_load_state("load")
    for _ in range(5):
        p.mouse.click(100, 100)  # five fast clicks on one spot: one rage click
    p.wait_for_timeout(1200)
    for x in (20, 200, 380):
        p.mouse.click(x, 100)  # three clicks far apart: none
    p.wait_for_timeout(200)
    leave(p)
    events = poll(lambda: stored(collector, app).get("user_events", []), lambda r: len(r) >= 1)
    [rage] = [e for e in events if e["event_type"] == "rage_click"]
    assert rage["count"] == 5
    assert rage["value"] == "click on div"
    assert rage["x"] == 100 and rage["y"] == 100
    assert errors == []


# -- accuracy: the same page load measured by Google's web-vitals beside the agent -----------
ACCURACY_PAGE = """
<h1 style="font-size:40px">Same page, two libraries</h1>
<div id="slot"></div>
<img id="hero" src="/img.png?ms=300" width="600" height="300">
<button id="slow" onclick="busy(120); this.textContent = 'Done'">Slow button</button>
<button id="slower" onclick="busy(220); this.textContent = 'Done'">Slower button</button>
<script>
{busy}
setTimeout(() => {{
  const d = document.createElement("div");
  d.style.height = "80px";
  document.getElementById("slot").appendChild(d);
}}, 100);
setTimeout(() => document.getElementById("slot").prepend(document.createElement("br")), 700);
</script>
"""
# web-vitals (its IIFE build from agent/node_modules) records what it reports.
# Every change is recorded (reportAllChanges): the latest is web-vitals' final value, even when
# the page is hidden while it still has entries to process in an idle callback.
WEB_VITALS = """<script src="/web-vitals.js"></script><script>
window.wv = {};
for (const name of ["LCP", "FCP", "TTFB", "CLS", "INP"]) {
  const record = (m) => (window.wv[name.toLowerCase()] = m.value);
  webVitals["on" + name](record, {reportAllChanges: true});
}
</script>"""
HIDE = """Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
document.dispatchEvent(new Event("visibilitychange"));"""


def test_vitals_equal_googles_web_vitals_library(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    head = WEB_VITALS + snippet(collector.url, app)
    url = site.add("/accuracy", page(head, ACCURACY_PAGE.format(busy=BUSY)))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.wait_for_timeout(900)
    p.click("#slow")
    p.click("#slower")
    p.wait_for_timeout(400)
    # Hidden, as when the user switches tabs (the way web-vitals' own tests hide a page): both
    # libraries report CLS and INP now.
    p.evaluate(HIDE)
    p.wait_for_timeout(200)
    google = p.evaluate("window.wv")
    leave(p)
    [load] = actions(collector, app, 1)
    assert set(google) == {"lcp", "fcp", "ttfb", "cls", "inp"}, google
    for name in ("lcp", "fcp", "ttfb", "inp"):
        assert load[name] == pytest.approx(google[name], abs=1), name
    assert load["cls"] == pytest.approx(google["cls"], abs=0.001)
    assert google["cls"] > 0 and google["inp"] >= 200 and google["lcp"] >= 300
    assert errors == []


# -- page lifecycle -------------------------------------------------------------------------
def test_back_forward_cache_restore_is_a_new_page_view(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    head = snippet(collector.url, app)
    # Cacheable: Chromium keeps a no-store page out of the bfcache once it has made a network
    # request (the agent's beacon) whose answer arrives in time, which made this test depend
    # on the collector's speed.
    cacheable = {"cache-control": "no-cache"}
    # A custom action started on page A and ended after the restore belongs to A's first view:
    # a late change to an event goes out under the page view it was made in (stored once).
    link = '<a id="next" href="/bf/b" onclick="window.cid = openrum.startAction(\'Next\')">Next</a>'
    url = site.add("/bf/a", page(head, f"<h1>Page A</h1>{link}"), cacheable)
    site.add("/bf/b", page(head, "<h1>Page B</h1>"), cacheable)
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.click("#next")
    p.wait_for_url("**/bf/b")
    p.wait_for_load_state("load")
    p.evaluate("history.back()")
    p.wait_for_url("**/bf/a", wait_until="commit")
    restored = p.evaluate(
        "new Promise((ok) => setTimeout(() => ok(performance.getEntriesByType('navigation')"
        "[0].type), 300))"
    )
    assert restored == "navigate", "the page came back from the bfcache, not reloaded"
    p.evaluate("openrum.endAction(window.cid)")
    leave(p)

    def ended(rows: list[dict[str, Any]]) -> bool:  # the custom action's second report stored
        return len(rows) >= 4 and any(r["duration"] for r in rows if r["action_type"] == "custom")

    # The custom action's end goes out in its own beacon (A's first view), which the writer may
    # store after the restored view's load: wait for it, not only for four rows.
    rows = poll(lambda: stored(collector, app).get("actions", []), ended, 10)
    loads_a = sorted((r for r in rows if r["page"] == "/bf/a"), key=lambda r: r["time"])
    assert [r["action_type"] for r in loads_a] == ["load", "custom", "load"]
    first, custom, back = loads_a
    assert first["page_view_id"] == custom["page_view_id"] != back["page_view_id"]
    assert custom["duration"] is not None
    assert back["ttfb"] == 0 and first["ttfb"] > 0
    assert 0 < back["fcp"] < 1000 and back["lcp"] == back["fcp"]
    assert back["duration"] is not None and back["load_event_end"] is None
    assert len({r["session_id"] for r in rows}) == 1
    assert errors == []


def test_hidden_tabs_and_updates_after_the_page_came_back(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    # A page loaded in a background tab reports no paint metrics (web-vitals semantics).
    hidden = site.add(
        "/bg",
        page(f"<script>{HIDE}</script>" + snippet(collector.url, app), "<h1>Background</h1>"),
    )
    p, errors = open_page(ctx, hidden)
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    leave(p)
    # A visible page that is hidden sends at once, then updates its load action later.
    body = '<h1>Foreground</h1><button id="slow" onclick="busy(250)">Slow</button>'
    body += f"<script>{BUSY}</script>"
    shown = site.add("/fg", page(snippet(collector.url, app), body))
    p2, errors2 = open_page(ctx, shown)
    p2.wait_for_load_state("load")
    p2.wait_for_timeout(300)
    p2.evaluate(HIDE)  # the beacon goes now, while the page stays open
    first = poll(
        lambda: [r for r in stored(collector, app).get("actions", []) if r["page"] == "/fg"],
        bool,
    )
    assert first[0]["inp"] is None and first[0]["seq"] >= 1
    p2.evaluate(HIDE.replace('"hidden"', '"visible"'))
    p2.click("#slow")
    p2.wait_for_timeout(300)
    leave(p2)
    rows = poll(
        lambda: stored(collector, app).get("actions", []),
        lambda r: any(x["page"] == "/fg" and x["inp"] for x in r),
    )
    by_page = {r["page"]: r for r in rows}
    bg, fg = by_page["/bg"], by_page["/fg"]
    assert bg["fcp"] is None and bg["lcp"] is None and bg["load_event_end"] is not None
    assert fg["fcp"] > 0 and fg["lcp"] > 0
    # The same load action, replaced by the later beacon (same event id, higher seq).
    assert fg["event_id"] == first[0]["event_id"] and fg["seq"] > first[0]["seq"]
    assert fg["inp"] >= 250
    assert errors == [] and errors2 == []


# -- privacy --------------------------------------------------------------------------------
def test_opt_in_sends_and_stores_nothing_before_consent(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    url = site.add("/consent", page(snippet(collector.url, app, optin="1"), "<h1>Cookies?</h1>"))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    assert p.evaluate("sessionStorage.length + localStorage.length") == 0
    p.reload()
    p.wait_for_function("window.openrum !== undefined")
    p.evaluate("openrum.consent(true)")
    assert p.evaluate("Object.keys(sessionStorage)") == [f"openrum:{app}"]
    leave(p)
    rows = actions(collector, app, 1)
    p.wait_for_timeout(1500)  # anything sent before consent would have arrived by now
    rows = stored(collector, app)["actions"]
    assert len(rows) == 1, "only the page view after consent"
    assert errors == []


def test_do_not_track_and_sampling(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    # Do Not Track with data-dnt="off": nothing at all, but the API is there and harmless.
    dnt = ctx.browser.new_context() if ctx.browser else ctx
    dnt.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"
    )
    url = site.add("/dnt", page(snippet(collector.url, app, dnt="off"), "<h1>Private</h1>"))
    p, errors = open_page(dnt, url)
    p.evaluate("openrum.identify('bob'); openrum.startAction('x')")
    leave(p)
    dnt.close()
    # Sampling at 50 %: this session is in (Math.random pinned to 0.3), and stays in even when
    # later draws would say otherwise; its weight is 2.
    ctx.add_init_script("Math.random = () => window.__r ?? 0.3")
    url = site.add("/sampled", page(snippet(collector.url, app, sample="50"), "<h1>Half</h1>"))
    p, errors2 = open_page(ctx, url)
    p.evaluate("window.__r = 0.9")
    p.reload()
    p.wait_for_function("window.openrum !== undefined")
    leave(p)
    rows = actions(collector, app, 2)
    assert {r["page"] for r in rows} == {"/sampled"}
    assert {r["weight"] for r in rows} == {2.0}
    assert errors == [] and errors2 == []


# What docs/privacy.md says a browser sending Do Not Track or GPC gets, by the words of its
# table's second column: whether anything is sent, and whether it carries a user tag and a
# visitor id. A row phrased otherwise fails the test until it is added here.
_DOCUMENTED = {
    "measured anonymously": (True, False),
    "sends nothing": (False, False),
    "measured as any other browser": (True, True),
}


def documented_dnt_modes() -> list[tuple[str, bool, bool]]:
    """(data-dnt value, sends, identifies) for each value docs/privacy.md's table names."""
    text = (ROOT / "docs" / "privacy.md").read_text()
    table = text.split("| `data-dnt` |", 1)[1].split("\n\n", 1)[0]
    modes = []
    for row in table.splitlines()[2:]:
        mode, said = (cell.strip() for cell in row.strip("|").split("|"))
        [(sends, identifies)] = [v for k, v in _DOCUMENTED.items() if k in said]
        values = re.findall(r"`([a-z]+)`", mode) + ([""] if "not set" in mode else [])
        assert values, row
        modes += [(value, sends, identifies) for value in values]
    return modes


@pytest.mark.parametrize(
    "signal",
    [
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
    ],
    ids=["dnt", "gpc"],
)
def test_do_not_track_and_gpc_as_documented(
    chrome: Browser, site: Site, collector: LiveServer, app: str, signal: str
) -> None:
    """Each data-dnt mode of docs/privacy.md, for a browser sending the signal, on a site that
    tracks users and calls identify: what the agent sends is what the table says."""
    modes = documented_dnt_modes()
    assert {m for m, _, _ in modes} == {"", "anonymous", "off", "ignore"}
    for mode, sends, identifies in modes:
        c = chrome.new_context()
        c.add_init_script(signal)
        options = {"track_users": "1", **({"dnt": mode} if mode else {})}
        head = snippet(collector.url, app, **options).replace(
            f"{collector.url}/api/v1/beacon", f"{site.origin}/sink"
        )
        path = f"/private-{mode or 'default'}-{len(site.sink)}"
        p, errors = open_page(c, site.add(path, page(head, "<h1>Private</h1>")))
        p.evaluate("openrum.identify('bob'); openrum.startAction('x')")
        p.wait_for_timeout(100)
        p.evaluate("openrum.endAction(openrum.startAction('y'))")
        leave(p)
        got = poll(
            lambda at=path: [b for b in sink_beacons(site) if at in b["url"]],
            (lambda b: bool(b)) if sends else (lambda b: False),
            10 if sends else 1.5,
        )
        c.close()  # (not before: a beacon sent on leaving may still be on its way)
        assert errors == []
        assert bool(got) == sends, (mode, got)
        if sends:
            users = [e for b in got for e in b["events"] if e["kind"] == "user"]
            tags = [e.get("value") for e in users if e["type"] == "user_tag"]
            visitors = {b.get("visitor") for b in got}
            assert (tags == ["bob"]) == identifies, (mode, tags)
            assert (visitors != {None}) == identifies, (mode, visitors)


def test_query_strings_are_stripped_before_sending(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    head = (
        f'<script async src="{collector.url}/openrum.js" data-app="{app}" '
        f'data-endpoint="{site.origin}/sink"></script>'
    )
    body = "<button id='b' onclick=\"fetch('/status/404?token=abc')\">Go</button>"
    p, errors = open_page(ctx, site.add("/q", page(head, body)) + "?card=4111111111111111#x")
    p.click("#b")
    p.wait_for_timeout(300)
    leave(p)
    # Only this page's beacons, and the whole card number: other tests' beacons share the sink,
    # and a timing or an id can hold "4111" by chance.
    sent = poll(
        lambda: b"".join(b for b in site.sink if json.loads(b)["app"] == app), b"/q".__contains__
    )
    assert b"4111111111111111" not in sent and b"card" not in sent
    assert b"token" not in sent and b"#x" not in sent
    assert errors == []


# -- the API, transport and robustness ------------------------------------------------------
def test_api_custom_actions_user_tag_properties_and_session_end(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    url = site.add("/api-page", page(snippet(collector.url, app), "<h1>API</h1>"))
    p, errors = open_page(ctx, url)
    p.wait_for_load_state("load")
    p.evaluate("""async () => {
        const id = openrum.startAction("checkout flow");
        await new Promise((ok) => setTimeout(ok, 250));
        openrum.endAction(id);
        openrum.identify("alice@example.com");
        openrum.setProperty("plan", "gold");
        openrum.reportError(new Error("payment provider down"));
    }""")
    first = p.evaluate("sessionStorage.getItem(Object.keys(sessionStorage)[0])")
    p.evaluate("openrum.endSession()")
    p.evaluate("openrum.startAction('after the end')")
    second = p.evaluate("sessionStorage.getItem(Object.keys(sessionStorage)[0])")
    leave(p)
    data = poll(lambda: stored(collector, app), lambda d: len(d.get("actions", [])) >= 3)
    custom = {r["action_name"]: r for r in data["actions"] if r["action_type"] == "custom"}
    assert 250 <= custom["checkout flow"]["duration"] < 1000
    assert "after the end" in custom
    import json

    assert json.loads(first)["id"] != json.loads(second)["id"], "a new session after the end"
    assert custom["after the end"]["session_id"] == json.loads(second)["id"]
    events = {e["event_type"]: e for e in data["user_events"]}
    assert events["property"]["value"] == "plan=gold"
    assert "session_end" in events and "user_tag" in events
    [error] = data["errors"]
    assert error["error_type"] == "custom" and error["message"] == "payment provider down"
    sessions = {s["session_id"]: s for s in data["sessions"]}
    assert sessions[json.loads(first)["id"]]["user_tag"] is not None
    assert errors == []


def test_retry_after_and_64kb_split(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    head = (
        f'<script async src="{collector.url}/openrum.js" data-app="{app}" '
        f'data-endpoint="{site.origin}/sink?{app}"></script>'
    )
    site.sink.clear()
    site.sink_answers[:] = [(429, {"retry-after": "2"})]
    p, errors = open_page(ctx, site.add("/busy", page(head, "<h1>Busy</h1>")))
    p.wait_for_load_state("load")
    p.wait_for_timeout(200)
    p.evaluate("openrum.flush()")  # answered 429, Retry-After: 2
    poll(lambda: len(site.sink), lambda n: n == 1)
    p.wait_for_timeout(300)
    p.evaluate("openrum.flush()")  # held back
    p.wait_for_timeout(300)
    assert len(site.sink) == 1
    p.wait_for_timeout(1600)
    # Many long custom actions: more than one beacon's worth.
    p.evaluate("""() => { for (let i = 0; i < 230; i++)
        openrum.endAction(openrum.startAction("step " + i + " " + "x".repeat(190))); }""")
    p.evaluate("openrum.flush()")
    bodies = poll(lambda: list(site.sink), lambda b: b"step 229 " in b"".join(b) and len(b) >= 4)
    p.wait_for_timeout(300)
    bodies = list(site.sink)
    beacons = [json_load(b) for b in bodies]
    assert beacons[1]["events"][0]["id"] == beacons[0]["events"][0]["id"], "sent again"
    assert all(len(b) < 64 * 1024 for b in bodies)
    assert all(len(b["events"]) <= 100 for b in beacons)
    sent = [e for b in beacons[1:] for e in b["events"] if e["kind"] == "action"]
    assert len({e["id"] for e in sent}) == 231  # the load and every custom action
    # 200 actions make a new part of the session.
    assert {b["sid"].split(".")[0] for b in beacons} == {beacons[0]["sid"]}
    assert any(b["sid"].endswith(".2") for b in beacons)
    assert len({b["seq"] for b in beacons}) == len(beacons), "each beacon its own seq"
    assert errors == []


def json_load(body: bytes) -> dict[str, Any]:
    import json

    result: dict[str, Any] = json.loads(body)
    return result


HOSTILE = """
Object.defineProperty(window, "sessionStorage", {get() { throw new Error("denied"); }});
Object.defineProperty(window, "localStorage", {get() { throw new Error("denied"); }});
PerformanceObserver.supportedEntryTypes.length = 0;
"""


def test_the_agent_never_breaks_the_page(
    ctx: BrowserContext, site: Site, collector: LiveServer, app: str
) -> None:
    ctx.add_init_script(HOSTILE)
    body = f"""<h1>Fragile</h1><script>
    window.results = [];
    async function run() {{
      const r = await fetch("/api?x=1");
      results.push((await r.json()).x);
      try {{ await fetch("http://127.0.0.1:{free_port_value()}/"); }}
      catch (e) {{ results.push(e.name); }}
      const x = new XMLHttpRequest();
      x.open("GET", "/api?y=2", false);
      x.send();
      results.push(JSON.parse(x.responseText).y);
      history.pushState({{s: 1}}, "", "/fragile/next");
      results.push(history.state.s, location.pathname);
    }}
    </script>"""
    p, errors = open_page(ctx, site.add("/fragile", page(snippet(collector.url, app), body)))
    p.evaluate("run()")
    assert p.evaluate("results") == ["1", "TypeError", "2", 1, "/fragile/next"]
    leave(p)
    rows = actions(collector, app, 2)
    assert {r["action_type"] for r in rows} == {"load", "route_change"}
    assert errors == []


def free_port_value() -> int:
    from tests.conftest import free_port

    return free_port()
