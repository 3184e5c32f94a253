"""The Releases page in real Chromium against `openrum serve`: two releases, desktop /checkout
60 % slower in the newer one (tests/store/test_releases.py). Screenshot:
docs/screenshots/releases.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from openrum.store import default_url, open_store
from openrum.store.base import App
from tests.browser.test_dashboard import PASSWORD, settle, shot, sign_in
from tests.conftest import LiveServer, start_server, stop_server
from tests.store.test_releases import fill

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("releases") / "data"
    data.mkdir()
    store = fill(open_store(default_url(data)))
    store.create_app(App(id="shop", name="Shop", origins=["https://shop.example"], created=0))
    store.close()
    server = start_server(
        data,
        env={
            "OPENRUM_ADMIN_PASSWORD": PASSWORD,
            "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000",
            "OPENRUM_REGRESSION_MIN_ACTIONS": "100",
        },
    )
    yield server
    stop_server(server)


def test_releases_page_shows_the_regressed_segment(browser: Browser, server: LiveServer) -> None:
    w = sign_in(browser, server)
    page = w.page
    settle(page)  # the overview, first: its late panels would land on the next page
    page.goto(f"{server.url}/#/releases?app=shop")
    settle(page)
    main = page.locator("main")
    expect(page.locator("nav a[aria-current=page][href^='#/releases']")).to_have_count(1)
    expect(main.locator(".card", has_text="Release 2.0 against 1.0")).to_be_visible()
    regressed = main.get_by_role("table", name="Regressed segments")
    row = regressed.locator("tr", has_text="Page /checkout · Device desktop").filter(
        has_text="Load duration p75"
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("150 → 150")
    expect(row).to_contain_text(" % (+")  # the change, with its interval
    # Mobile / did not change.
    expect(main.get_by_text("Page / · Device mobile")).to_have_count(0)
    expect(main.get_by_text("No data in this time range")).to_have_count(0)
    shot(page, "releases")
    # The segment's link opens the dashboard filtered to the release and the segment.
    row.get_by_role("link").click()
    settle(page)
    assert "#/performance" in page.url
    for chip in ("release", "/checkout", "desktop"):
        expect(page.locator("#filters .chip", has_text=chip)).to_have_count(1)
    assert w.errors == [] and w.dialogs == []
    page.context.close()
