"""Errors thrown in real Chromium from minified builds (esbuild; Rollup + terser), sent by the
agent, resolved through the uploaded source maps, and shown on the dashboard's error page; and
maps fetched from an application's own origins (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from openrum.enrich.symbolicate import Frame, Symbolicator
from openrum.sourcemaps import MapStore
from tests.browser.agent_site import create_app, snippet
from tests.browser.conftest import Site, poll
from tests.browser.test_dashboard import PASSWORD, SHOTS, settle, sign_in
from tests.conftest import LiveServer, start_server, stop_server
from tests.sourcemaps.bundles import BUNDLERS, URL, build, files, line_of, v8_stack

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


# -- fetching maps from the application's own origins (its config's sourcemap_fetch) ----------
def _served(site: Site, out: Path) -> str:
    """Serve a build on the site; the URL of its script."""
    for name, data in files(out).items():
        site.add("/" + name, data, ctype="text/javascript")
    return site.origin + "/static/app.min.js"


def _own(frames: list[Frame]) -> list[tuple[str, int | None, str | None]]:
    return [
        (f.file.split("src/")[-1], f.original_line, f.original_function)
        for f in frames
        if f.in_app and f.file
    ]


WANTED = [(module, line_of(marker)[1], function) for module, marker, function in EXPECTED]


def test_a_map_is_fetched_once_from_the_apps_own_origin(site: Site, tmp_path: Path) -> None:
    url = _served(site, build("esbuild", tmp_path / "build"))
    stack = v8_stack(tmp_path / "build", "badPrice").replace(URL, url)
    maps = MapStore(tmp_path / "maps", 10 << 20, 50 << 20)
    symbolicator = Symbolicator(maps)
    frames = symbolicator.resolve(
        "shop", "1.0", stack, fetch_from=lambda u: u.startswith(site.origin)
    )
    assert _own(frames) == WANTED, frames
    assert site.requested == ["/static/app.min.js", "/static/app.min.js.map"]
    # Kept as an upload of the release: read from the disk afterwards, not fetched again.
    assert [r.files for r in maps.releases("shop")] == [2]
    assert _own(Symbolicator(maps).resolve("shop", "1.0", stack)) == WANTED
    assert len(site.requested) == 2


def test_an_inline_map_is_read_from_the_script(site: Site, tmp_path: Path) -> None:
    out = build("esbuild", tmp_path / "build")
    script = out / "static" / "app.min.js"
    source_map = (out / "static" / "app.min.js.map").read_bytes()
    inline = "data:application/json;base64," + base64.b64encode(source_map).decode()
    script.write_text(
        re.sub(r"sourceMappingURL=\S+", f"sourceMappingURL={inline}", script.read_text())
    )
    (out / "static" / "app.min.js.map").unlink()
    url = _served(site, out)
    stack = v8_stack(out, "badPrice").replace(URL, url)
    maps = MapStore(tmp_path / "maps", 10 << 20, 50 << 20)
    frames = Symbolicator(maps).resolve(
        "shop", "1.0", stack, fetch_from=lambda u: u.startswith(site.origin)
    )
    assert _own(frames) == WANTED, frames
    assert site.requested == ["/static/app.min.js"]


def test_what_is_not_fetched_keeps_the_raw_frame_with_the_reason(
    site: Site, tmp_path: Path
) -> None:
    out = build("esbuild", tmp_path / "build")
    url = _served(site, out)
    stack = v8_stack(out, "badPrice")
    script = (out / "static" / "app.min.js").read_bytes()
    elsewhere = re.sub(
        rb"sourceMappingURL=\S+", b"sourceMappingURL=https://cdn.example/app.map", script
    )
    site.add("/static/elsewhere.js", elsewhere, ctype="text/javascript")
    site.add("/static/moved.js", b"", status=302, headers={"location": "/static/app.min.js"})
    site.add("/static/bare.js", b"var x = 1;", ctype="text/javascript")
    cases = {
        url: ("not on one of the application's origins", "https://shop.example"),  # not allowed
        site.origin + "/static/elsewhere.js": (
            "source map is not on one of the application's origins",
            site.origin,
        ),
        site.origin + "/static/moved.js": ("302", site.origin),  # a redirect is not followed
        site.origin + "/static/bare.js": ("names no source map", site.origin),
        site.origin + "/static/missing.js": ("404", site.origin),
    }
    for i, (where, (reason, allowed)) in enumerate(cases.items()):
        maps = MapStore(tmp_path / f"maps{i}", 10 << 20, 50 << 20)
        frames = Symbolicator(maps).resolve(
            "shop",
            "1.0",
            stack.replace(URL, where),
            fetch_from=lambda u, o=allowed: u.startswith(o),
        )
        assert frames and all(f.file is None and reason in (f.reason or "") for f in frames), (
            where,
            frames,
        )
        assert maps.releases("shop") == []
    assert "/static/app.min.js.map" not in site.requested
    # Over the size cap of an upload: refused, and nothing is kept.
    maps = MapStore(tmp_path / "small", 1000, 50 << 20)
    frames = Symbolicator(maps).resolve(
        "shop", "1.0", stack.replace(URL, url), fetch_from=lambda u: u.startswith(site.origin)
    )
    assert all("over 1000 bytes" in (f.reason or "") for f in frames), frames
    assert maps.releases("shop") == []


@pytest.mark.browser
def test_the_error_page_resolves_a_build_whose_maps_the_app_fetches(
    browser: Browser, server: LiveServer, site: Site, tmp_path: Path
) -> None:
    _served(site, build("esbuild", tmp_path / "build"))
    for app, fetching in (("fetch-off", False), ("fetch-on", True)):
        create_app(server, app, site.origin)
        if fetching:
            body = json.dumps({"config": {"sourcemap_fetch": True}}).encode()
            status, _, raw = server.request(
                "PATCH", f"/api/v1/apps/{app}", body, {"content-type": "application/json"}
            )
            assert status == 200, raw
        head = snippet(server.url, app, release="2026.12.6")
        site.add(
            f"/{app}",
            f'<!doctype html><html><head>{head}<script src="/static/app.min.js"></script>'
            '</head><body><button id="pay" onclick="badPrice()">Pay</button></body></html>',
        )
        context = browser.new_context()
        p = context.new_page()
        p.goto(f"{site.origin}/{app}")
        p.wait_for_function("window.openrum !== undefined")
        p.click("#pay")
        p.goto("about:blank")
        context.close()
    for app, fetching in (("fetch-off", False), ("fetch-on", True)):
        groups = poll(lambda app=app: error_groups(server, app), bool, 20)
        fp = groups[0]["fingerprint"]
        status, _, raw = server.request(
            "GET", f"/api/v1/errors/{fp}?app={app}&from=2000-01-01T00:00:00Z&user_type=all"
        )
        assert status == 200, raw
        frames = json.loads(raw)["samples"][0]["frames"]
        if fetching:
            own = [f for f in frames if f["in_app"]]
            assert [
                (f["file"].split("src/")[-1], f["original_line"], f["original_function"])
                for f in own
            ] == WANTED, frames
        else:
            assert all("no source map uploaded" in f["reason"] for f in frames), frames
    assert site.requested.count("/static/app.min.js.map") == 1
