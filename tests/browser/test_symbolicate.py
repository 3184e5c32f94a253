"""Errors thrown in real Chromium from minified builds (esbuild; Rollup + terser), sent by the
agent, resolved through the uploaded source maps, and shown on the dashboard's error page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.agent_site import create_app, snippet
from tests.browser.conftest import Site, poll
from tests.browser.test_dashboard import PASSWORD, SHOTS, settle, sign_in
from tests.conftest import LiveServer, start_server, stop_server
from tests.sourcemaps.bundles import BUNDLERS, build, files, line_of

# The in-app frames of window.badPrice(), from the throw outwards: (module, marker, function).
EXPECTED = [
    ("lib/price.js", "THROW price", "parsePrice"),
    ("lib/cart.js", "CALL parsePrice", None),
    ("lib/cart.js", "CALL each", "cartTotal"),
    ("main.js", "CALL cartTotal", "checkout"),
    ("main.js", "window.badPrice =", "window.badPrice"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    s = start_server(
        tmp_path_factory.mktemp("maps") / "data",
        env={"OPENRUM_ADMIN_PASSWORD": PASSWORD, "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000"},
    )
    yield s
    stop_server(s)


def error_groups(server: LiveServer, app: str) -> list[dict[str, Any]]:
    status, _, raw = server.request(
        "GET", f"/api/v1/errors?app={app}&from=2000-01-01T00:00:00Z&user_type=all"
    )  # headless Chromium is tagged synthetic
    assert status == 200, raw
    groups: list[dict[str, Any]] = json.loads(raw)["groups"]
    return groups


@pytest.mark.browser
@pytest.mark.parametrize("bundler", BUNDLERS)
def test_a_minified_error_in_chromium_is_shown_at_its_original_lines(
    browser: Browser, server: LiveServer, site: Site, tmp_path: Path, bundler: str
) -> None:
    app, release = f"maps-{bundler}", "2026.12.1"
    create_app(server, app, site.origin)
    out = build(bundler, tmp_path / "build")
    for name, data in files(out).items():
        site.add("/" + name, data, ctype="text/javascript")
    head = snippet(server.url, app, release=release)
    site.add(
        "/shop",
        f'<!doctype html><html><head>{head}<script src="/static/app.min.js"></script></head>'
        '<body><button id="pay" onclick="badPrice()">Pay</button></body></html>',
    )
    texts = {name: data.decode() for name, data in files(out).items()}
    body = {"app": app, "release": release, "url_prefix": site.origin + "/", "files": texts}
    status, _, raw = server.post(
        "/api/v1/sourcemaps", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    assert status == 201, raw

    context = browser.new_context()
    p = context.new_page()
    p.goto(site.origin + "/shop")
    p.wait_for_function("window.openrum !== undefined")
    p.click("#pay")
    p.goto("about:blank")  # pagehide: the agent sends the error
    context.close()
    groups = poll(lambda: error_groups(server, app), bool, 20)
    assert len(groups) == 1, groups
    fp = groups[0]["fingerprint"]
    status, _, raw = server.request(
        "GET", f"/api/v1/errors/{fp}?app={app}&from=2000-01-01T00:00:00Z&user_type=all"
    )
    frames = json.loads(raw)["samples"][0]["frames"]
    own = [f for f in frames if f["in_app"]]
    assert [
        (f["file"].split("src/")[-1], f["original_line"], f["original_function"]) for f in own
    ] == [(module, line_of(marker)[1], function) for module, marker, function in EXPECTED], frames
    assert [f for f in frames if f["file"] and not f["in_app"]], "the vendor frame is not in-app"

    w = sign_in(browser, server)
    # Headless Chromium's error is synthetic traffic: the page shows it with the switch on.
    w.page.goto(f"{server.url}/#/errors?app={app}&range=7d&fp={fp}&users=all")
    settle(w.page)
    first = w.page.locator("main .frame-list .frame").first
    expect(first).to_contain_text("parsePrice")
    expect(first).to_contain_text(f"lib/price.js:{line_of('THROW price')[1]}")
    expect(first.locator(".ctx.hit")).to_contain_text('throw new TypeError("not a price: " + text)')
    throw_line = line_of("THROW price")[1]  # the 4 lines above it, the 5 below
    expect(first.locator(".ctx")).to_have_count(min(5, throw_line - 1) + 1 + 5)
    expect(w.page.locator("main .frame .tag.lib")).to_have_count(1)
    assert w.errors == [] and w.dialogs == []
    if bundler == "esbuild":
        w.page.screenshot(path=str(SHOTS / "error-symbolicated.png"), full_page=True)
    w.page.context.close()
