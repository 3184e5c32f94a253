"""The agent as an npm package (docs/agent.md, "npm"): the tarball `npm pack` makes, installed
into a small app that esbuild bundles, served and run in real Chromium; its beacons are stored
with the same fields as the snippet's on the same page."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

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

ESBUILD = ROOT / "agent" / "node_modules" / "esbuild"

# The same page for both: a button whose click fetches, and the API calls an app makes once it
# runs (the snippet's through window.openrum, after its async script ran).
BODY = """<h1 style="font-size:40px">Orders</h1><button id="pay">Pay now</button><p id="out"></p>
<script>
const out = document.getElementById("out");
document.getElementById("pay").onclick = () =>
  fetch("/api?ms=120").then((r) => r.json()).then(() => (out.textContent = "Paid"));
</script>"""

APP_JS = """import { init, identify, addAction, reportError } from "openrum-agent";

init({ app: "%(app)s", endpoint: "%(endpoint)s", release: "2.0.0" });
identify("jane");
addAction("orders ready", 40);
reportError(new Error("orders failed"));
"""

SNIPPET_CALLS = """<script>
addEventListener("load", () => {
  openrum.identify("jane");
  openrum.endAction(openrum.startAction("orders ready"));
  openrum.reportError(new Error("orders failed"));
});
</script>"""


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    subprocess.run(["npm", "--prefix", str(ROOT / "agent"), "run", "--silent", "build"], check=True)
    server = start_server(tmp_path_factory.mktemp("npm") / "data")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    s.start()
    yield s
    s.stop()


def install(app_dir: Path) -> Path:
    """The package as `npm pack` makes it, unpacked into the app's node_modules."""
    out = subprocess.run(
        ["npm", "pack", "--json", "--ignore-scripts", "--pack-destination", str(app_dir)],
        cwd=ROOT / "agent", check=True, capture_output=True, text=True,
    )  # fmt: skip
    tarball = app_dir / json.loads(out.stdout)[0]["filename"]
    target = app_dir / "node_modules" / "openrum-agent"
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():  # every path under package/
            member.name = member.name.removeprefix("package/")
            tar.extract(member, target, filter="data")
    return target


def bundle(app_dir: Path, source: str) -> str:
    """``source`` bundled and minified by esbuild, as an app's build would."""
    (app_dir / "app.js").write_text(source)
    script = (
        f"require({json.dumps(str(ESBUILD))}).buildSync({{entryPoints: ['app.js'], bundle: true, "
        "minify: true, format: 'esm', target: 'es2020', outfile: 'out.js'})"
    )
    subprocess.run(["node", "-e", script], cwd=app_dir, check=True)
    return (app_dir / "out.js").read_text()


def visit(ctx: BrowserContext, url: str) -> list[str]:
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(url)
    p.wait_for_function("window.openrum !== undefined")
    p.wait_for_load_state("load")
    p.wait_for_timeout(400)
    p.click("#pay")
    p.wait_for_timeout(700)
    p.goto("about:blank")  # pagehide: the beacon goes
    return errors


# Measures that depend on the moment (a long task, a layout shift, an interaction over 40 ms may
# happen on one page load and not the next).
VOLATILE = {"long_tasks", "long_task_ms", "inp", "inp_target", "inp_input_delay",
            "inp_processing", "inp_presentation", "cls", "cls_target"}  # fmt: skip


def filled(rows: list[dict[str, Any]]) -> set[str]:
    """The columns that have a value in any of ``rows``."""
    return {k for r in rows for k, v in r.items() if v not in (None, "") and k not in VOLATILE}


def by_kind(rows: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in rows.get("actions", []):
        out.setdefault(f"action {a['action_type']}", set()).update(filled([a]))
    for e in rows.get("errors", []):
        out.setdefault(f"error {e['error_type']}", set()).update(filled([e]))
    for u in rows.get("user_events", []):
        out.setdefault(f"user {u['event_type']}", set()).update(filled([u]))
    return out


def test_a_bundled_app_sends_the_snippets_beacons(
    ctx: BrowserContext, collector: LiveServer, site: Site, tmp_path: Path
) -> None:
    installed = install(tmp_path)
    assert (installed / "index.d.ts").exists() and (installed / "src" / "npm.js").exists()
    for app in ("npm-app", "snippet-app"):
        create_app(collector, app, site.origin)
    code = bundle(
        tmp_path, APP_JS % {"app": "npm-app", "endpoint": collector.url + "/api/v1/beacon"}
    )
    assert "currentScript" not in code  # the snippet's entry is not in an app's bundle
    site.pages["/app.js"] = (code, {"content-type": "text/javascript"})
    npm_page = site.add("/npm", page('<script type="module" src="/app.js"></script>', BODY))
    snippet_head = snippet(collector.url, "snippet-app", release="2.0.0") + SNIPPET_CALLS
    snippet_page = site.add("/snippet", page(snippet_head, BODY))

    assert visit(ctx, npm_page) == []
    assert visit(ctx, snippet_page) == []

    def complete(rows: dict[str, list[dict[str, Any]]]) -> bool:
        kinds = by_kind(rows)
        return {
            "action load",
            "action xhr",
            "action custom",
            "error custom",
            "user user_tag",
        } <= set(kinds)

    npm_rows = poll(lambda: stored(collector, "npm-app"), complete)
    snippet_rows = poll(lambda: stored(collector, "snippet-app"), complete)
    npm_kinds, snippet_kinds = by_kind(npm_rows), by_kind(snippet_rows)
    assert set(npm_kinds) == set(snippet_kinds)
    # The same fields measured and stored (ids, times and the app aside: they differ anyway).
    for kind, fields in snippet_kinds.items():
        assert npm_kinds[kind] == fields, kind
    [load] = [a for a in npm_rows["actions"] if a["action_type"] == "load"]
    assert load["lcp"] and load["fcp"] and load["ttfb"] is not None and load["release"] == "2.0.0"
    [xhr] = [a for a in npm_rows["actions"] if a["action_type"] == "xhr"]
    assert xhr["action_name"] == 'click on "Pay now"' and xhr["requests"] == 1
    [custom] = [a for a in npm_rows["actions"] if a["action_type"] == "custom"]
    assert custom["action_name"] == "orders ready" and custom["duration"] == 40
    [error] = npm_rows["errors"]
    assert error["message"] == "orders failed" and error["line"]  # its position, from the stack
