"""Backend trace correlation in real Chromium: the agent's W3C traceparent header as the site's
own server process receives it, the trace id stored with the request's action and its error, no
header to another origin unless the app allows it, and the dashboard's link (trace_url)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.agent_site import (
    Site,
    create_app,
    page,
    poll,
    snippet,
    stored,
)
from tests.browser.test_dashboard import PASSWORD, sign_in
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
TRACE_URL = "https://tempo.example/explore?trace={trace_id}&orgId=1"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("trace") / "data",
        "--setting",
        "trace_url",
        TRACE_URL,
        env={"OPENRUM_ADMIN_PASSWORD": PASSWORD, "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000"},
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[Site, Site, Site]]:
    """The page's own site, an API on another origin the app allows, and one it does not."""
    found = (Site(), Site(), Site())
    for s in found:
        s.start()
    yield found
    for s in found:
        s.stop()


CHECKOUT = """
<button id="pay">Pay now</button>
<p id="out"></p>
<script>
document.getElementById("pay").onclick = async () => {{
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/status/502");
  xhr.send("{{}}");
  const own = await fetch(new Request("/api?step=own", {{ headers: {{ "x-cart": "7" }} }}));
  const allowed = await fetch("{allowed}/api?step=allowed");
  const other = await fetch("{other}/api?step=other");
  document.getElementById("out").textContent = [own.status, allowed.status, other.status].join(" ");
  // Long after the action ended: a background request.
  setTimeout(() => fetch("/api?step=background"), 1000);
}};
</script>
"""


def traceparents(site: Site, step: str) -> list[str | None]:
    return [h.get("traceparent") for m, path, h in site.requests if m != "OPTIONS" and step in path]


def test_traceparent_reaches_the_backend_and_links_the_stored_action(
    browser: Browser, ctx: BrowserContext, collector: LiveServer, sites: tuple[Site, Site, Site]
) -> None:
    own, allowed, other = sites
    app = "traced"
    create_app(collector, app, own.origin)
    body = CHECKOUT.format(allowed=allowed.origin, other=other.origin)
    url = own.add("/checkout", page(snippet(collector.url, app, trace=allowed.origin), body))
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(url)
    p.wait_for_function("window.openrum !== undefined")
    p.wait_for_load_state("load")
    p.wait_for_timeout(300)
    p.click("#pay")
    # Every request went through, the other origin's too (a header there would have needed a
    # preflight it does not allow).
    expect(p.locator("#out")).to_have_text("200 200 200")
    p.wait_for_timeout(1600)  # the background request
    p.goto("about:blank")

    # The backend got a valid W3C traceparent: one trace for the click's action, a parent span
    # for each request.
    [xhr_header] = [h.get("traceparent") for m, path, h in own.requests if path == "/status/502"]
    [own_header] = traceparents(own, "step=own")
    [allowed_header] = traceparents(allowed, "step=allowed")
    found = [TRACEPARENT.match(h or "") for h in (xhr_header, own_header, allowed_header)]
    assert all(found), (xhr_header, own_header, allowed_header)
    trace = found[0].group(1)  # type: ignore[union-attr]
    assert {m.group(1) for m in found if m} == {trace}
    assert len({m.group(2) for m in found if m}) == 3
    # The page's own headers went along with it.
    [(_, _, headers)] = [r for r in own.requests if "step=own" in r[1]]
    assert headers["x-cart"] == "7"
    # No header (and no preflight) to an origin the app did not allow.
    assert traceparents(other, "step=other") == [None]
    assert not [r for r in other.requests if r[0] == "OPTIONS"]
    # A background request is a trace of its own.
    [background] = traceparents(own, "step=background")
    m = TRACEPARENT.match(background or "")
    assert m and m.group(1) != trace

    # Stored with the request's action and with the failed request's error.
    rows = poll(
        lambda: stored(collector, app),
        lambda r: any(a["action_type"] == "xhr" for a in r.get("actions", [])) and r.get("errors"),
    )
    [action] = [a for a in rows["actions"] if a["action_type"] == "xhr"]
    assert action["action_name"] == 'click on "Pay now"'
    assert action["trace_id"] == trace
    [error] = rows["errors"]
    assert error["status"] == 502 and error["trace_id"] == trace
    assert error["action_event_id"] == action["event_id"]
    assert errors == []

    # The dashboard links the action and the request error to the trace.
    w = sign_in(browser, collector)
    p = w.page
    p.goto(
        f"{collector.url}/#/sessions?app={app}&range=7d&users=all&session={action['session_id']}"
    )
    link = TRACE_URL.replace("{trace_id}", trace)
    for text in ('click on "Pay now"', "HTTP 502"):
        item = p.locator("ol.timeline li", has_text=text)
        expect(item.locator("a.trace-link")).to_have_attribute("href", link)
    p.goto(f"{collector.url}/#/errors?app={app}&range=7d&users=all&fp={error['fingerprint']}")
    expect(p.locator("article.sample a.trace-link")).to_have_attribute("href", link)
    assert w.errors == []
    p.context.close()


def test_a_trace_url_without_the_placeholder_is_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with pytest.raises(RuntimeError, match="trace_url"):
        start_server(
            tmp_path_factory.mktemp("bad") / "data",
            "--setting",
            "trace_url",
            "https://tempo.example/",
        )
