"""The agent in real Chromium against a real `openrum serve`: what it measures arrives, stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import Site, poll
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script async src="{collector}/openrum.js" data-app="shop"
        data-endpoint="{collector}/api/v1/beacon" data-release="2026.11.3"></script>
</head><body>
<h1 style="font-size:64px">Fresh coffee, delivered</h1>
<p>Our beans are roasted every morning.</p>
<button id="add" onclick="fetch('/api/missing')">Add to cart</button>
<button id="boom" onclick="setTimeout(() => {{ throw new TypeError('boom') }})">Break</button>
<button id="reject" onclick="Promise.reject(new Error('nope'))">Reject</button>
</body></html>"""


@pytest.fixture
def collector(tmp_path: Any, site: Site) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data")
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", site.origin)
    yield server
    stop_server(server)


def rows(
    server: LiveServer, metrics: list[str], dims: list[str], filters: list[Any] | None = None
) -> list[dict[str, Any]]:
    body = {
        "app": "shop",
        "metrics": metrics,
        "dimensions": dims,
        "filters": filters or [],
        "from": "2000-01-01T00:00:00Z",
    }
    result: list[dict[str, Any]] = server.query(body)["rows"]
    return result


def test_a_page_load_with_interactions_and_errors_arrives(
    browser: Browser, site: Site, collector: LiveServer
) -> None:
    site.add("/", PAGE.format(collector=collector.url))
    site.add("/api/missing", json.dumps({"error": "no"}), 404, "application/json")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site.origin + "/?token=secret#top")
    page.wait_for_load_state("load")
    page.wait_for_function("window.openrum !== undefined")
    page.click("#add")
    page.click("#boom")
    page.click("#reject")
    page.wait_for_timeout(400)
    page.goto("about:blank")  # pagehide: the agent sends its beacon
    page.close()

    loads = poll(
        lambda: rows(
            collector,
            ["count", "lcp:max", "fcp:max", "ttfb:max", "duration:max"],
            ["action_type", "page"],
            [["action_type", "is", "load"]],
        ),
        lambda r: bool(r),
    )
    assert len(loads) == 1
    load = loads[0]
    assert load["page"] == "/" and load["count"] == 1
    for vital in ("lcp:max", "fcp:max", "ttfb:max", "duration:max"):
        assert load[vital] is not None and load[vital] >= 0, vital
    xhr = rows(
        collector, ["count", "requests:max"], ["action_name"], [["action_type", "is", "xhr"]]
    )
    assert xhr == [{"action_name": 'click on "Add to cart"', "count": 1, "requests:max": 1}]
    errs = poll(lambda: rows(collector, ["errors"], ["error_type"]), lambda r: len(r) >= 2)
    assert {r["error_type"]: r["errors"] for r in errs} == {"js": 2, "request": 1}
    release = rows(collector, ["count"], ["release", "browser"])
    assert release[0]["release"] == "2026.11.3"
    assert release[0]["browser"] in ("Chrome", "HeadlessChrome", "Chromium")
    # The agent's own failures never reach the page; the page's own errors are its own.
    assert all("openrum" not in e for e in errors)


def test_query_strings_never_leave_the_page(
    browser: Browser, site: Site, collector: LiveServer
) -> None:
    site.add("/checkout", PAGE.format(collector=collector.url))
    page = browser.new_page()
    page.goto(site.origin + "/checkout?card=4111111111111111&token=abc#pay")
    page.wait_for_function("window.openrum !== undefined")
    page.wait_for_timeout(200)
    page.goto("about:blank")
    page.close()
    poll(lambda: rows(collector, ["count"], ["page"]), bool)
    import duckdb

    stop_server(collector)
    con = duckdb.connect(str(collector.data / "openrum.duckdb"), read_only=True)
    urls = [r[0] for r in con.execute("SELECT url FROM actions").fetchall()]
    con.close()
    assert urls == [site.origin + "/checkout"]
