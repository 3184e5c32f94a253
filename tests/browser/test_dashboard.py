"""The dashboard in real Chromium against `openrum serve` with demo data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.beacons import beacon, encode, load_action, now_ms
from tests.browser.conftest import poll
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser
PASSWORD = "demo password 42"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("dash") / "data"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openrum",
            "demo",
            "--data",
            str(data),
            "--sessions",
            "400",
            "--days",
            "2",
        ],
        check=True,
        capture_output=True,
    )
    server = start_server(
        data, env={"OPENRUM_ADMIN_PASSWORD": PASSWORD, "OPENRUM_RATE_LIMIT_IP_PER_S": "0"}
    )
    yield server
    stop_server(server)


@pytest.fixture
def page(browser: Browser, demo: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    p = context.new_page()
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.goto(demo.url + "/")
    expect(p).to_have_url(demo.url + "/login?next=/")
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_selector("nav a[aria-current=page]")
    yield p
    assert dialogs == [], "a script ran from data"
    context.close()


def settle(p: Page) -> None:
    # Locators, not page functions: the dashboard's CSP forbids evaluating strings.
    expect(p.locator("main h1")).to_be_visible(timeout=15000)
    expect(p.locator("[aria-busy=true]")).to_have_count(0, timeout=15000)


@pytest.mark.parametrize(
    "name", ["overview", "compare", "performance", "actions", "errors", "settings"]
)
def test_every_page_renders_with_data(page: Page, demo: LiveServer, name: str) -> None:
    page.goto(f"{demo.url}/#/{name}?app=demo&range=7d")
    settle(page)
    main = page.locator("main")
    expect(main.locator("h1")).to_be_visible()
    assert "Could not load" not in main.inner_text()
    if name == "overview":
        expect(main.locator(".kpi .value").first).not_to_have_text("–")
        assert main.locator("canvas").count() >= 2
    if name in ("compare", "actions", "errors"):
        assert main.locator("tbody tr").count() > 0
    if name == "settings":
        expect(main.locator("pre")).to_contain_text('data-app="demo"')
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_filters_compose_and_survive_a_reload(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/compare?app=demo&range=7d&dim=device")
    settle(page)
    page.locator("tbody tr", has_text="mobile").first.click()
    page.wait_for_url("**f=device%7Cis%7Cmobile**")
    page.goto(page.url.replace("dim=device", "dim=browser"))
    settle(page)
    page.locator("tbody tr").first.click()
    page.wait_for_url("**f=browser%7Cis%7C**")
    url = page.url
    page.reload()
    settle(page)
    chips = page.locator(".chip")
    expect(chips).to_have_count(2)
    expect(chips.first).to_contain_text("device is mobile")
    assert page.url == url
    page.go_back()
    settle(page)
    expect(page.locator(".chip")).to_have_count(1)


def test_a_new_beacon_shows_up_live(page: Page, demo: LiveServer) -> None:
    page.goto(f"{demo.url}/#/overview?app=demo&range=1h")
    settle(page)
    before = page.locator(".kpi .value").first.inner_text()
    body = beacon("demo", events=[load_action(f"live{now_ms()}")])
    status, _, _ = demo.post(
        "/api/v1/beacon", encode(body), {"content-type": "text/plain"}, auth=False
    )
    assert status == 202
    expect(page.locator(".kpi .value").first).not_to_have_text(before, timeout=12000)


def test_hostile_strings_are_text(page: Page, demo: LiveServer) -> None:
    body = beacon(
        "demo",
        url=f"https://shop.example/{HOSTILE}",
        events=[
            load_action(f"x{now_ms()}", name=HOSTILE, url=f"https://shop.example/{HOSTILE}"),
            {
                "kind": "error",
                "id": "xe",
                "type": "js",
                "time": now_ms() - 1000,
                "message": HOSTILE,
            },
        ],
    )
    status, _, _ = demo.post(
        "/api/v1/beacon", encode(body), {"content-type": "text/plain"}, auth=False
    )
    assert status == 202
    # Wait until the batch writer has stored it (within about a second).
    stored = poll(
        lambda: demo.query(
            {
                "app": "demo",
                "metrics": ["count"],
                "dimensions": ["action_name"],
                "filters": [["action_name", "is", HOSTILE]],
            }
        )["rows"],
        bool,
    )
    assert stored, "the hostile beacon was not stored"
    for path in ("actions", "errors"):
        page.goto(f"{demo.url}/#/{path}?app=demo&range=1h")
        settle(page)
        expect(page.locator("main")).to_contain_text(HOSTILE)
        assert page.locator("main img").count() == 0
    assert json.dumps(HOSTILE)  # the page fixture asserts no dialog opened
