"""Foreign RUM agents from npm (tests/foreign) in real Chromium, side by side with the native
snippet on the same page, against a real `openrum serve` (docs/ingest.md).

Each agent sends to its own application (``/ingest/{format}/{app}``), the snippet to another; for
the same page views, the load time, LCP, CLS and errors each reports, read back through the query
API, land within the tolerances below of the native agent's.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.agent_site import (
    ROOT,
    Site,
    create_app,
    page,
    poll,
    query,
    snippet,
    stored,
)
from tests.conftest import LiveServer, start_server, stop_server
from tests.foreign.agents import boomerang, bundle, inline

pytestmark = pytest.mark.browser

# Tolerances, foreign agent against the native one, for the same page view: the load time
# (Navigation Timing's loadEventEnd, in whole ms on one side) and LCP and CLS (both from the
# same PerformanceObserver entries); error counts by type are equal. The load time is
# loadEventEnd, not the native action's duration: the native agent extends a load action by the
# requests started at onload, and a foreign agent's own fetch beacon (Faro's) is one of them.
LOAD_MS = 25.0
LCP_MS = 25.0
CLS = 0.01
VIEWS = 2

BUSY = "function busy(ms) { const t = performance.now(); while (performance.now() - t < ms); }"
# A page with an LCP image, a layout shift, a long task, an error during the load, and buttons
# for a failing request and an error thrown by a click handler.
BODY = f"""
<h1 style="font-size:40px">Fresh coffee, delivered</h1>
<div id="slot"></div>
<img id="hero" src="/img.png?ms=400" width="600" height="300">
<button id="fail">Order</button>
<button id="throw">Break</button>
<script>
{BUSY}
// Listeners added by script: the OpenTelemetry user-interaction instrumentation sees those.
document.getElementById("fail").addEventListener("click", () => fetch("/status/500"));
document.getElementById("throw").addEventListener("click", () => {{
  throw new TypeError("boom from click");
}});
busy(60);
// During the load, once the async native snippet is running (an error before it is not its).
(function fail() {{ window.openrum ? null.boom : setTimeout(fail, 5); }})();
// A layout shift after the first frame was painted (a change before it is no shift).
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => {{
  const d = document.createElement("div");
  d.style.height = "150px";
  d.textContent = "Late banner";
  document.getElementById("slot").appendChild(d);
}}, 50)));
</script>
"""


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    agent = ROOT / "agent"
    if (agent / "node_modules").exists():
        subprocess.run(["npm", "--prefix", str(agent), "run", "--silent", "build"], check=True)
    server = start_server(tmp_path_factory.mktemp("foreign") / "data")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    s.start()
    yield s
    s.stop()


def apps(request: pytest.FixtureRequest, collector: LiveServer, site: Site) -> tuple[str, str]:
    """Two new applications allowed from the site: the native agent's and the foreign one's."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)
    name = name[:40] + "-" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    create_app(collector, f"{name}-native", site.origin)
    create_app(collector, f"{name}-foreign", site.origin)
    return f"{name}-native", f"{name}-foreign"


def view(ctx: BrowserContext, url: str, after_load: int) -> None:
    """One page view: the load, a failing request, an error thrown by a click, then leave."""
    p: Page = ctx.new_page()
    p.goto(url)
    p.wait_for_load_state("load")
    p.wait_for_function("window.openrum !== undefined")
    p.wait_for_timeout(after_load)
    p.click("#fail")
    p.wait_for_timeout(700)
    p.click("#throw")
    p.wait_for_timeout(1500)
    p.goto("about:blank")
    p.close()


def measures(server: LiveServer, app: str, errors: int = 3, vitals: bool = True) -> dict[str, Any]:
    """Per page view: the load time, LCP and CLS of its load action (the export API's rows);
    the p75s and the error counts by type of the query API (the dashboard's)."""
    rows = poll(
        lambda: stored(server, app),
        lambda got: (
            len([a for a in got.get("actions", []) if a["action_type"] == "load"]) >= VIEWS
            and len(got.get("errors", [])) >= 3 * VIEWS
        ),
        timeout=15,
    )
    loads = [a for a in rows["actions"] if a["action_type"] == "load"]
    p75 = query(
        server,
        app,
        ["load_event_end:p75", "lcp:p75", "cls:p75"],
        [],
        [["action_type", "is", "load"]],
    )
    errors = query(server, app, ["errors"], ["error_type"])
    return {
        "loads": sorted((a["load_event_end"], a["lcp"], a["cls"]) for a in loads),
        "p75": p75[0],
        "errors": {r["error_type"]: r["errors"] for r in errors},
    }


def compare(native: dict[str, Any], other: dict[str, Any], errors: tuple[str, ...]) -> None:
    """``other`` within the tolerances of ``native``; the error counts of ``errors`` (the types
    the agent reports) equal."""
    assert len(native["loads"]) == len(other["loads"]) == VIEWS
    for mine, theirs in zip(native["loads"], other["loads"], strict=True):
        assert theirs[0] == pytest.approx(mine[0], abs=LOAD_MS), (mine, theirs)
        assert theirs[1] == pytest.approx(mine[1], abs=LCP_MS), (mine, theirs)
        assert theirs[2] == pytest.approx(mine[2], abs=CLS), (mine, theirs)
        assert mine[1] >= 400  # the slow image
    assert any(mine[2] > 0 for mine in native["loads"])  # the late banner shifted the page
    for metric, tolerance in (
        ("load_event_end:p75", LOAD_MS),
        ("lcp:p75", LCP_MS),
        ("cls:p75", CLS),
    ):
        assert other["p75"][metric] == pytest.approx(native["p75"][metric], abs=tolerance)
    assert native["errors"] == {"js": 2 * VIEWS, "request": VIEWS}
    assert other["errors"] == {k: v for k, v in native["errors"].items() if k in errors}


def test_boomerang_reports_what_the_native_agent_reports(
    request: pytest.FixtureRequest, ctx: BrowserContext, site: Site, collector: LiveServer
) -> None:
    native, other = apps(request, collector, site)
    config = {
        "beacon_url": f"{collector.url}/ingest/boomerang/{other}",
        "Errors": {"enabled": True, "sendAfterOnload": True},
        "Continuity": {"enabled": True, "waitAfterOnload": True},
        "EventTiming": {"enabled": True},
        "instrument_xhr": True,
        "AutoXHR": {"monitorFetch": True, "alwaysSendXhr": True},
    }
    head = (
        snippet(collector.url, native)
        + f"<script>window.BOOMR_CONFIG = {json.dumps(config)};</script>"
        + inline(boomerang())
    )
    url = site.add("/boomerang", page(head, BODY))
    for _ in range(VIEWS):
        view(ctx, url, after_load=1500)  # Boomerang sends its page load beacon after onload
    compare(measures(collector, native), measures(collector, other), ("js", "request"))


def test_faro_reports_what_the_native_agent_reports(
    request: pytest.FixtureRequest, ctx: BrowserContext, site: Site, collector: LiveServer
) -> None:
    """Faro reports no failed request without its tracing package: JavaScript errors only."""
    native, other = apps(request, collector, site)
    head = (
        snippet(collector.url, native)
        + f"<script>window.FARO_URL = '{collector.url}/ingest/faro/{other}';</script>"
        + inline(bundle("faro"))
    )
    url = site.add("/faro", page(head, BODY))
    for _ in range(VIEWS):
        view(ctx, url, after_load=500)
    compare(measures(collector, native, 3), measures(collector, other, 2), ("js",))


@pytest.mark.parametrize("protocol", ["json", "protobuf"])
def test_opentelemetry_reports_what_the_native_agent_reports(
    request: pytest.FixtureRequest,
    ctx: BrowserContext,
    site: Site,
    collector: LiveServer,
    protocol: str,
) -> None:
    """The OpenTelemetry web SDK measures no Web Vitals: the load time and the errors (failed
    requests as spans, uncaught errors as exception log records) are compared."""
    native, other = apps(request, collector, site)
    config = {"url": f"{collector.url}/ingest/otlp/{other}", "protocol": protocol}
    head = (
        snippet(collector.url, native)
        + f"<script>window.OTEL_CONFIG = {json.dumps(config)};</script>"
        + inline(bundle("otel"))
    )
    url = site.add(f"/otel-{protocol}", page(head, BODY))
    for _ in range(VIEWS):
        view(ctx, url, after_load=500)
    mine, theirs = measures(collector, native), measures(collector, other, vitals=False)
    assert len(mine["loads"]) == len(theirs["loads"]) == VIEWS
    for (load, *_), (other_load, *_) in zip(mine["loads"], theirs["loads"], strict=True):
        # OpenTelemetry's document load span starts at fetchStart, not at navigation start.
        assert other_load == pytest.approx(load, abs=LOAD_MS)
    assert theirs["errors"] == mine["errors"] == {"js": 2 * VIEWS, "request": VIEWS}
