"""Records what the real foreign agents send, for the unit tests' payloads (recorded/):
``python -m tests.foreign.record boomerang`` runs the SDK in Chromium on a test page, captures
its requests to the beacon URL and writes their bodies to recorded/{agent}-{n}.bin (the committed
ones are renamed after what each holds)."""

from __future__ import annotations

import json
import sys
from typing import Any

from playwright.sync_api import Request as BrowserRequest
from playwright.sync_api import Route, sync_playwright

from tests.browser.agent_site import CHROMIUM_ARGS, Site, chromium, page
from tests.foreign.agents import HERE, boomerang, inline

BUSY = "function busy(ms) { const t = performance.now(); while (performance.now() - t < ms); }"
BODY = f"""
<h1 style="font-size:40px">Fresh coffee</h1><div id="slot"></div>
<img id="hero" src="/img.png?ms=400" width="600" height="300">
<button id="b" onclick="busy(150); fetch('/status/500')">Slow</button>
<button id="t" onclick="throw new TypeError('boom from click')">Throw</button>
<script>{BUSY}
setTimeout(() => {{ null.boom; }}, 20);
setTimeout(() => {{
  const d = document.createElement('div'); d.style.height = '150px'; d.textContent = 'Late';
  document.getElementById('slot').appendChild(d);
}}, 150);
</script>"""


def head(agent: str, sink: str) -> str:
    if agent == "boomerang":
        config = {
            "beacon_url": sink,
            "Errors": {"enabled": True, "sendAfterOnload": True},
            "Continuity": {"enabled": True},
            "EventTiming": {"enabled": True},
            "instrument_xhr": True,
            "AutoXHR": {"monitorFetch": True, "alwaysSendXhr": True},
        }
        return f"<script>window.BOOMR_CONFIG = {json.dumps(config)};</script>" + inline(boomerang())
    raise SystemExit(f"unknown agent {agent}")


def record(agent: str) -> list[dict[str, Any]]:
    site = Site()
    site.start()
    got: list[dict[str, Any]] = []
    url = site.add("/load", page(head(agent, site.origin + "/sink"), BODY))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            ctx = browser.new_context()

            def capture(route: Route, request: BrowserRequest) -> None:
                body = request.post_data_buffer or request.url.partition("?")[2].encode()
                got.append({"path": request.url, "headers": request.headers, "body": body})
                route.fulfill(status=204, headers={"access-control-allow-origin": "*"})

            ctx.route("**/sink**", capture)
            tab = ctx.new_page()
            tab.goto(url)
            tab.wait_for_load_state("load")
            tab.wait_for_timeout(1500)
            tab.click("#b")
            tab.wait_for_timeout(800)
            tab.click("#t")
            tab.wait_for_timeout(3000)
            tab.goto("about:blank")
            tab.wait_for_timeout(500)
            browser.close()
    finally:
        site.stop()
    return got


def main() -> None:
    agent = sys.argv[1]
    for i, item in enumerate(record(agent)):
        path = HERE / "recorded" / f"{agent}-{i}.bin"
        path.write_bytes(item["body"])
        print(path.name, item["headers"].get("content-type"), len(item["body"]))


if __name__ == "__main__":
    main()
