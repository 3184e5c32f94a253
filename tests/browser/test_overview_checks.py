"""The overview's availability strip in real Chromium against `openrum serve`: a check that is
down after two failed runs and one that is up, each with its latest runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import pytest
from playwright.sync_api import Browser, expect

from openrum.alerts.checks import Check
from openrum.store import default_url, open_store
from openrum.store.base import App, CheckResult
from tests.browser.test_dashboard import PASSWORD, settle, sign_in
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("checks") / "data"
    data.mkdir()
    store = open_store(default_url(data))
    store.create_app(App(id="shop", name="Shop", origins=["https://shop.example"], created=0))
    now = int(time.time() * 1000)
    for check, runs in [
        (Check(id="home", app="shop", name="Home page", url="https://shop.example/"),
         [(200, ""), (200, ""), (503, "HTTP 503, expected 200"), (503, "HTTP 503, expected 200")]),
        (Check(id="api", app="shop", name="Prices API", url="https://api.shop.example/prices"),
         [(200, "")] * 3),
    ]:  # fmt: skip
        store.save_alert_item("checks", check.id, msgspec.to_builtins(check))
        for i, (status, error) in enumerate(runs):
            t = now - (len(runs) - i) * 60_000
            store.save_check_result(CheckResult(t, check.id, "shop", not error, status, 120.0 + i,
                                                 41.6, error))  # fmt: skip
    store.close()
    # No scheduler: the runs above are all there is (the URLs are not fetched).
    env = {"OPENRUM_ADMIN_PASSWORD": PASSWORD, "OPENRUM_ALERTS_INTERVAL_S": "0"}
    server = start_server(data, env=env)
    yield server
    stop_server(server)


def test_overview_shows_each_check_with_its_runs(browser: Browser, server: LiveServer) -> None:
    w = sign_in(browser, server)
    page = w.page
    page.goto(f"{server.url}/#/overview?app=shop")
    settle(page)
    strip = page.get_by_role("region", name="Availability checks")
    home = strip.locator("[data-check=home]")
    expect(home).to_contain_text("Down")
    expect(home).to_contain_text("Home page")
    expect(home).to_contain_text("HTTP 503, expected 200")
    expect(home.get_by_role("img")).to_have_attribute("aria-label", "2 of the latest 4 runs passed")
    expect(home.locator(".check-runs > .fail")).to_have_count(2)
    api = strip.locator("[data-check=api]")
    expect(api).to_contain_text("Up")
    expect(api).to_contain_text("certificate valid 41 more days")
    expect(api.locator(".check-runs > .ok")).to_have_count(3)
    assert w.errors == [] and w.dialogs == []
    page.context.close()
