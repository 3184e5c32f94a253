"""The dashboard in real Chromium against `openrum serve` with demo data (docs/dashboard.md).

Screenshots of every page go to docs/screenshots/ (shown in the README)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.beacons import beacon, encode, load_action, now_ms
from tests.browser.conftest import poll
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser
PASSWORD = "demo password 42"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"
# Test beacons come from 127.0.0.1: locate them, so that drill-down has regions and cities.
GEO = "127.0.0.0/8=DE|Bavaria|Munich|48.1|11.6"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("dash") / "data"
    subprocess.run(
        [sys.executable, "-m", "openrum", "demo", "--data", str(data), "--sessions", "300",
         "--days", "2"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = start_server(
        data,
        env={
            "OPENRUM_ADMIN_PASSWORD": PASSWORD,
            # Every test signs in anew: more than the default 10 sign-ins a minute per address.
            "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000",
            "OPENRUM_RATE_LIMIT_IP_PER_S": "0",
            "OPENRUM_GEO_NETWORKS": GEO,
        },
    )
    yield server
    stop_server(server)


class Watched:
    """A signed-in page, and what it must never do: open a dialog or throw."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def sign_in(browser: Browser, server: LiveServer, width: int = 1360) -> Watched:
    context = browser.new_context(viewport={"width": width, "height": 900})
    w = Watched(context.new_page())
    w.page.goto(server.url + "/")
    expect(w.page).to_have_url(server.url + "/login?next=/")
    w.page.fill("#password", PASSWORD)
    w.page.click("button[type=submit]")
    # Attached, not visible: on a phone-width screen the navigation may scroll sideways.
    w.page.wait_for_selector("nav a[aria-current=page]", state="attached")
    return w


@pytest.fixture
def watched(browser: Browser, demo: LiveServer) -> Iterator[Watched]:
    w = sign_in(browser, demo)
    yield w
    assert w.dialogs == [], "a script ran from data"
    assert w.errors == [], f"the page threw: {w.errors}"
    w.page.context.close()


@pytest.fixture
def page(watched: Watched) -> Page:
    return watched.page


def settle(p: Page) -> None:
    """Wait until the page's title is shown and every panel has loaded."""
    expect(p.locator("main h1")).to_be_visible(timeout=15000)
    expect(p.locator("[aria-busy=true]")).to_have_count(0, timeout=20000)


def follow(p: Page, target: Locator) -> None:
    """Click ``target``, which opens another page of the dashboard (a new hash), and wait until
    that page has loaded. The page shown before is settled too, and the dashboard renders the
    new one on the ``hashchange`` event, a task after the click: wait for it to have run first."""
    p.evaluate(
        "() => { window.rendered = new Promise((r) => addEventListener('hashchange', "
        "() => setTimeout(r), { once: true })); }"
    )
    target.click()
    p.evaluate("() => window.rendered")
    settle(p)


def shot(p: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Long lists (a hundred sessions) are shown as far as the window goes.
    p.screenshot(path=str(SHOTS / f"{name}.png"), full_page=name != "sessions")


def send(server: LiveServer, body: dict[str, object]) -> None:
    # A browser's user agent: the collector drops bots (and urllib is one).
    headers = {"content-type": "text/plain", "user-agent": UA_CHROME}
    status, _, raw = server.post("/api/v1/beacon", encode(body), headers, auth=False)
    assert status == 202, raw


def stored(server: LiveServer, app: str, dim: str, value: str) -> None:
    found = poll(
        lambda: server.query(
            {"app": app, "metrics": ["count"], "dimensions": [dim], "filters": [[dim, "is", value]]}
        )["rows"],
        bool,
    )
    assert found, f"the beacon with {dim} {value!r} was not stored"


@pytest.mark.parametrize(
    "name",
    ["overview", "compare", "map", "performance", "actions", "errors", "sessions", "settings"],
)
def test_every_page_renders_with_data(page: Page, demo: LiveServer, name: str) -> None:
    page.goto(f"{demo.url}/#/{name}?app=demo&range=7d")
    settle(page)
    main = page.locator("main")
    expect(page.locator(f"nav a[aria-current=page][href^='#/{name}']")).to_have_count(1)
    assert "Could not load" not in main.inner_text()
    if name == "overview":
        expect(main.locator(".kpi .value").first).not_to_have_text("0")
        assert main.locator("canvas").count() >= 2  # time series and histogram
        expect(main.locator(".card", has_text="Largest Contentful Paint")).to_contain_text("p75")
        expect(main.locator(".card", has_text="User experience score")).to_contain_text("%")
    elif name == "map":
        expect(main.locator("canvas")).to_have_count(1)
        expect(main.locator("tbody tr", has_text="United States")).to_have_count(1)
    elif name == "performance":
        assert main.locator("canvas").count() >= 6  # waterfall, split, four distributions
        expect(
            main.locator(".card", has_text="Key user actions").locator("tbody tr").first
        ).to_be_visible()
    elif name == "settings":
        expect(main.locator("pre.snippet")).to_contain_text('data-app="demo"')
        expect(main.get_by_label("Sessions measured (%)")).to_have_value("100")
    else:
        assert main.locator("tbody tr").count() > 0
    shot(page, name)


def test_details_render(page: Page, demo: LiveServer) -> None:
    # An action's detail, an error group's detail and a session's timeline, reached by clicking.
    for listing, detail, check in [
        ("actions", "action", "main canvas"),
        ("errors", "error", "main pre.stack, main article.sample"),
        ("sessions?errors_only=1&", "session", "ol.timeline li"),
    ]:
        sep = "" if listing.endswith("&") else "?"
        page.goto(f"{demo.url}/#/{listing}{sep}app=demo&range=7d")
        settle(page)
        follow(page, page.locator("main tbody tr.clickable").first)
        expect(page.locator(".crumbs a")).to_be_visible()
        expect(page.locator(check).first).to_be_visible()
        assert "Could not load" not in page.locator("main").inner_text()
        shot(page, detail)


def test_the_timeline_shows_the_click_that_triggered_a_route_change(
    page: Page, demo: LiveServer
) -> None:
    found = demo.query(
        {"app": "demo", "metrics": ["count"], "dimensions": ["session_id", "trigger"],
         "filters": [["action_type", "is", "route_change"], ["trigger", "contains", "click"]],
         "from": "2000-01-01T00:00:00Z", "limit": 1}
    )["rows"]  # fmt: skip
    [row] = found
    page.goto(f"{demo.url}/#/sessions?app=demo&range=7d&session={row['session_id']}")
    settle(page)
    shown = page.locator("ol.timeline li", has_text=f"after {row['trigger']}")
    expect(shown.first).to_be_visible()
    assert "route to" in shown.first.inner_text()


def test_filters_compose_and_survive_a_reload(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/compare?app=demo&range=7d&dim=device")
    settle(page)
    page.locator("tbody tr", has_text="mobile").first.click()
    page.wait_for_url("**f=device%7Cis%7Cmobile**")
    settle(page)
    page.get_by_label("Compare by").select_option("browser")
    settle(page)
    # Keyboard: a row is focusable and Enter selects it.
    row = page.locator("tbody tr").first
    browser = row.locator("td").first.inner_text()
    row.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**f=browser%7Cis%7C**")
    settle(page)  # the page redraws for the new filter: the filter bar below is the new one
    # The filter bar composes a third one, by hand.
    page.get_by_label("Filter dimension").select_option("action_type")
    page.get_by_label("Filter value").fill("load")
    page.get_by_role("button", name="Add filter").click()
    page.wait_for_url("**f=action_type%7Cis%7Cload**")
    url = page.url
    page.reload()
    settle(page)
    chips = page.locator(".chip")
    expect(chips).to_have_count(3)
    expect(chips.nth(0)).to_contain_text("Device is mobile")
    expect(chips.nth(1)).to_contain_text(f"Browser is {browser}")
    assert page.url == url
    # Every page follows the filters: the overview counts mobile page loads of that browser only.
    page.get_by_role("link", name="Overview").click()
    settle(page)
    expect(page.locator(".chip")).to_have_count(3)
    filtered = int(page.locator(".kpi .value").first.inner_text().replace(",", ""))
    page.go_back()
    settle(page)
    expect(page.locator(".chip")).to_have_count(3)
    page.go_back()
    settle(page)
    expect(page.locator(".chip")).to_have_count(2)
    page.locator(".chip button").first.click()  # remove "device is mobile"
    settle(page)
    expect(page.locator(".chip")).to_have_count(1)
    page.get_by_role("link", name="Overview").click()
    settle(page)
    wider = int(page.locator(".kpi .value").first.inner_text().replace(",", ""))
    assert 0 < filtered < wider


def test_map_drill_down(page: Page, demo: LiveServer) -> None:
    send(demo, beacon("demo", events=[load_action(f"geo{now_ms()}")]))
    stored(demo, "demo", "city", "Munich")
    page.goto(f"{demo.url}/#/map?app=demo&range=24h")
    settle(page)
    expect(page.locator("main canvas")).to_have_count(1)  # the world map
    page.locator("tbody tr", has_text="Germany").click()
    page.wait_for_url("**f=country%7Cis%7CDE**")
    settle(page)
    expect(page.locator(".crumbs")).to_contain_text("World › Germany")
    page.locator("tbody tr", has_text="Bavaria").click()
    page.wait_for_url("**f=region%7Cis%7CBavaria**")
    settle(page)
    expect(page.locator(".crumbs")).to_contain_text("Germany › Bavaria")
    shot(page, "map-drill-down")
    page.locator("tbody tr", has_text="Munich").click()
    page.wait_for_url("**f=city%7Cis%7CMunich**")
    settle(page)
    expect(page.locator("main h1")).to_have_text("Compare")
    expect(page.locator(".chip")).to_have_count(3)
    page.go_back()
    settle(page)
    expect(page.locator(".crumbs")).to_contain_text("Germany › Bavaria")


def test_a_new_beacon_shows_up_live(page: Page, demo: LiveServer) -> None:
    app = f"live{now_ms()}"
    status, _, raw = demo.post(
        "/api/v1/apps", json.dumps({"name": "Live", "id": app}).encode(),
        {"content-type": "application/json"},
    )  # fmt: skip
    assert status == 201, raw
    page.goto(f"{demo.url}/")  # the app list is read at start
    page.goto(f"{demo.url}/#/overview?app={app}&range=1h")
    settle(page)
    expect(page.locator("main .empty")).to_contain_text("snippet")
    views = page.locator(".card", has_text="Page views").locator(".kpi .value")
    live = page.locator(".card", has_text="Live sessions").locator(".kpi .value")
    expect(views).to_have_text("0")
    expect(live).to_have_text("0")
    send(demo, beacon(app, events=[load_action(f"live{now_ms()}")]))
    sent = time.monotonic()
    expect(views).to_have_text("1", timeout=5000)
    assert time.monotonic() - sent <= 5.0
    expect(live).to_have_text("1", timeout=5000)
    expect(page.locator("main .empty")).to_have_count(0)


def test_hostile_strings_are_text(watched: Watched, demo: LiveServer) -> None:
    page = watched.page
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    sid = f"hostile{now_ms()}"
    send(
        demo,
        beacon(
            "demo",
            sid=sid,
            url=f"https://shop.example/{HOSTILE}",
            events=[
                load_action(f"x{now_ms()}", name=HOSTILE, url=f"https://shop.example/{HOSTILE}"),
                {"kind": "error", "id": "xe", "type": "js", "time": now_ms() - 1000,
                 "message": HOSTILE},
            ],
        ),
    )  # fmt: skip
    stored(demo, "demo", "action_name", HOSTILE)
    for path in ("actions", "errors", "compare", f"sessions?session={sid}&x=1"):
        sep = "&" if "?" in path else "?"
        page.goto(f"{demo.url}/#/{path}{sep}app=demo&range=1h")
        settle(page)
        if path != "compare":
            expect(page.locator("main")).to_contain_text(HOSTILE)
        assert page.locator("img").count() == 0
    # An error group's page puts the message in its heading, as text.
    page.goto(f"{demo.url}/#/errors?app=demo&range=1h")
    settle(page)
    page.locator("tbody tr", has_text=HOSTILE).first.click()
    settle(page)
    expect(page.locator("main h1")).to_have_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert not [c for c in console if "alert" in c or "Content Security Policy" in c]


def test_settings_are_saved(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/settings?app=demo")
    settle(page)
    page.get_by_label("Sessions measured (%)").fill("50")
    page.get_by_label("Page loads: T (ms)").fill("2000")
    page.get_by_label("Opt-in: send nothing until").check()
    fragments = page.get_by_label("URL fragments kept (hash routing)")
    expect(fragments).to_have_value("routes")  # the default: hash routes
    fragments.select_option("none")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".status")).to_contain_text("Saved")
    expect(page.locator("pre.snippet")).to_contain_text('data-sample="50"')
    expect(page.locator("pre.snippet")).to_contain_text('data-hash="0"')  # the agent follows
    page.reload()
    settle(page)
    expect(page.get_by_label("Sessions measured (%)")).to_have_value("50")
    expect(page.get_by_label("Page loads: T (ms)")).to_have_value("2000")
    # A bad value is refused with the server's reason, and nothing changes.
    page.get_by_label("Page loads: F (ms)").fill("1000")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".status")).to_contain_text("f must be at least t")
    apps = json.loads(demo.request("GET", "/api/v1/apps")[2])["apps"]
    config = next(a for a in apps if a["id"] == "demo")["config"]
    assert config["sample"] == 50 and config["optin"] is True
    # Do Not Track / GPC untouched stays the agent's default (saving made it "send nothing").
    assert config["dnt"] == "anonymous"
    assert config["keep_fragment"] == "none"
    assert config["apdex"]["load"]["t"] == 2000 and config["apdex"]["load"]["f"] == 12000
    # Put the defaults back for the other tests' screenshots.
    page.get_by_label("Sessions measured (%)").fill("100")
    page.get_by_label("Page loads: T (ms)").fill("3000")
    page.get_by_label("Page loads: F (ms)").fill("12000")
    page.get_by_label("Opt-in: send nothing until").uncheck()
    fragments.select_option("routes")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".status")).to_contain_text("Saved")
    expect(page.locator("pre.snippet")).not_to_contain_text("data-hash")


def test_small_screens(browser: Browser, demo: LiveServer) -> None:
    w = sign_in(browser, demo, width=390)
    p = w.page
    p.goto(f"{demo.url}/#/overview?app=demo&range=7d")
    settle(p)
    # Nothing wider than the screen: every card fits.
    for card in p.locator("main .card").all():
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391, box
    p.screenshot(path=str(SHOTS / "mobile.png"), full_page=False)
    assert w.errors == [] and w.dialogs == []
    p.context.close()


def test_links_name_every_page(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/overview?app=demo&range=6h&stat=p90")
    settle(page)
    hrefs = page.locator("nav#nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(hrefs) == 10
    for href in hrefs:
        assert re.search(r"app=demo", href) and "range=6h" in href and "stat=p90" in href
    expect(page.locator("#range")).to_have_value("6h")
    expect(page.get_by_label("Statistic")).to_have_value("p90")


def test_sessions_show_what_is_stored(page: Page, demo: LiveServer) -> None:
    # A live session with a 404 and a 4-click rage click: the list counts them (not 0 / 0).
    sid = f"rage{now_ms()}"
    t = now_ms() - 30_000
    send(demo, beacon("demo", sid=sid, url="https://shop.example/cart", events=[
        load_action(f"l{sid}", start=t, url="https://shop.example/cart"),
        {"kind": "error", "id": f"e{sid}", "type": "request", "time": t + 2000,
         "message": "GET /api/stock 404", "status": 404, "url": "https://shop.example/cart"},
        {"kind": "user", "id": f"r{sid}", "type": "rage_click", "time": t + 3000, "count": 4,
         "value": "button#pay"},
    ]))  # fmt: skip
    stored(demo, "demo", "session_id", sid)
    # The server filters: live sessions with rage clicks, whichever page they are on.
    page.goto(f"{demo.url}/#/sessions?app=demo&range=1h&rage=1&live=1")
    settle(page)
    row = page.locator(f"tr[aria-label='Timeline of session {sid}']")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("live")
    expect(cells.nth(4)).to_have_text("1")  # errors
    expect(cells.nth(5)).to_have_text("1")  # rage clicks
    for r in page.locator("main tbody tr").all():
        expect(r.locator("td").nth(1)).to_have_text("live")
    # A filter on actions: sessions that visited /cart.
    page.get_by_label("Page visited").fill("/cart")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**f=page%7Cis%7C%2Fcart**")
    settle(page)
    expect(page.locator(f"tr[aria-label='Timeline of session {sid}']")).to_have_count(1)
    # Its page: environment and the page view's Web Vitals with their ratings.
    page.locator(f"tr[aria-label='Timeline of session {sid}']").click()
    settle(page)
    facts = page.get_by_label("Session environment")
    expect(facts).to_contain_text("Chrome 131")
    expect(facts).to_contain_text("Munich, Bavaria, Germany")
    expect(facts).to_contain_text("1.0.0")
    vitals = page.get_by_label("Web Vitals by page view")
    expect(vitals).to_contain_text("/cart")
    expect(vitals.locator("td").nth(1)).to_have_text("1.50 s ● Good")  # LCP
    expect(page.locator(".summary")).to_contain_text("no duration until it ends")


def test_one_session_duration_in_the_list_and_the_page(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/sessions?app=demo&range=7d")
    settle(page)
    # 100 sessions a page; the next page comes after them, none twice.
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(100)
    page.get_by_role("button", name="Show more sessions").click()
    expect(rows).to_have_count(200)
    labels = rows.evaluate_all("rs => rs.map(r => r.getAttribute('aria-label'))")
    assert len(set(labels)) == 200
    row = page.locator("main tbody tr", has_not=page.locator(".t-live")).first
    listed = row.locator("td").nth(1).inner_text()
    row.click()
    settle(page)
    expect(page.locator(".summary .kpi").nth(1).locator(".value")).to_have_text(listed)


HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36"
)


def whose(request: str) -> str | None:
    """The user type a dashboard request asks for (a query string's or a JSON body's)."""
    found = re.search(r'user_type(?:=|":")(\w+)', request)
    return found.group(1) if found else None


def test_synthetic_traffic_only_when_included(page: Page, demo: LiveServer) -> None:
    app = f"users{now_ms()}"
    status, _, raw = demo.post(
        "/api/v1/apps", json.dumps({"name": "Users", "id": app}).encode(),
        {"content-type": "application/json"},
    )  # fmt: skip
    assert status == 201, raw
    send(demo, beacon(app, events=[load_action("real1")]))
    for i in range(2):  # a synthetic monitor's page views: tagged, kept, not a user's
        body = encode(beacon(app, events=[load_action(f"synthetic{i}")]))
        headers = {"content-type": "text/plain", "user-agent": HEADLESS}
        assert demo.post("/api/v1/beacon", body, headers, auth=False)[0] == 202
    stored(demo, app, "user_type", "real")
    poll(lambda: demo.query({"app": app, "metrics": ["count"], "user_type": "all"})["rows"],
         lambda rows: rows and rows[0]["count"] == 3)  # fmt: skip
    asked: list[str] = []
    page.on("request", lambda r: "/api/v1/" in r.url and asked.append(r.url + (r.post_data or "")))
    page.goto(f"{demo.url}/")
    page.goto(f"{demo.url}/#/overview?app={app}&range=1h")
    settle(page)
    views = page.locator(".card", has_text="Page views").locator(".kpi .value")
    switch = page.get_by_label("Include synthetic traffic")
    expect(switch).to_be_visible()
    expect(switch).not_to_be_checked()
    expect(views).to_have_text("1")
    panels = [u for u in asked if "/api/v1/query" in u or "/api/v1/distribution" in u]
    assert panels and {whose(u) for u in panels} == {"real"}
    asked.clear()
    switch.check()
    expect(page).to_have_url(re.compile("users=all"))
    settle(page)
    expect(views).to_have_text("3")
    shot(page, "synthetic-switch")
    panels = [u for u in asked if "/api/v1/query" in u or "/api/v1/distribution" in u]
    assert panels and {whose(u) for u in panels} == {"all"}
    # Every page asks for everyone's traffic while the switch is on, and a reload keeps it.
    for name in ("errors", "actions", "performance"):
        asked.clear()
        # The page shown before is settled too: wait for the new one's first request.
        with page.expect_request(lambda r: "/api/v1/" in r.url and "/api/v1/apps" not in r.url):
            page.click(f"nav a[href^='#/{name}']")
        settle(page)
        panels = [u for u in asked if "/api/v1/" in u and "/api/v1/apps" not in u]
        assert panels and {whose(u) for u in panels} == {"all"}, (name, panels)
    page.reload()
    settle(page)
    expect(page.get_by_label("Include synthetic traffic")).to_be_checked()


def test_sampled_traffic_is_scaled_back_and_said_so(page: Page, demo: LiveServer) -> None:
    app = f"sampled{now_ms()}"
    status, _, raw = demo.post(
        "/api/v1/apps", json.dumps({"name": "Sampled", "id": app}).encode(),
        {"content-type": "application/json"},
    )  # fmt: skip
    assert status == 201, raw
    # One session kept at data-sample="25": it stands for four.
    send(demo, beacon(app, events=[load_action("kept1")], weight=4.0))
    stored(demo, app, "action_type", "load")
    page.goto(f"{demo.url}/")
    page.goto(f"{demo.url}/#/overview?app={app}&range=1h")
    settle(page)
    expect(page.locator(".card", has_text="Page views").locator(".kpi .value")).to_have_text("4")
    expect(page.locator("#sampled")).to_have_text("Estimates · 25 % of sessions sampled")
    page.goto(f"{demo.url}/#/overview?app=demo&range=7d")
    settle(page)
    expect(page.locator("#sampled")).to_be_hidden()  # the demo keeps every session
