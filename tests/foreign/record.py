"""Records what the real foreign agents send, for the unit tests' payloads (recorded/):
``python -m tests.foreign.record boomerang`` runs the SDK in Chromium on a test page, captures
its requests to the beacon URL and writes their bodies to recorded/{agent}-{n}.bin (the committed
ones are renamed after what each holds)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser.agent_site import CHROMIUM_ARGS, Site, chromium, page
from tests.foreign.agents import HERE, boomerang, bundle, inline

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


# The same page with listeners added by script (the OpenTelemetry user-interaction
# instrumentation sees addEventListener, not onclick attributes).
LISTENERS = (
    BODY.replace(" onclick=\"busy(150); fetch('/status/500')\"", "")
    .replace(" onclick=\"throw new TypeError('boom from click')\"", "")
    .replace(
        "</script>",
        "document.getElementById('b').addEventListener('click', () => "
        "{ busy(150); fetch('/status/500'); });\n"
        "document.getElementById('t').addEventListener('click', () => "
        "{ throw new TypeError('boom from click'); });\n</script>",
    )
)


def head(agent: str, sink: str) -> str:
    if agent == "boomerang":
        config = {
            "beacon_url": sink,
            "Errors": {"enabled": True, "sendAfterOnload": True},
            "Continuity": {"enabled": True, "waitAfterOnload": True},
            "EventTiming": {"enabled": True},
            "instrument_xhr": True,
            "AutoXHR": {"monitorFetch": True, "alwaysSendXhr": True},
        }
        return f"<script>window.BOOMR_CONFIG = {json.dumps(config)};</script>" + inline(boomerang())
    if agent == "faro":
        return f"<script>window.FARO_URL = {json.dumps(sink)};</script>" + inline(bundle("faro"))
    if agent in ("otlp-json", "otlp-protobuf"):
        config = {"url": sink, "protocol": agent.removeprefix("otlp-")}
        return f"<script>window.OTEL_CONFIG = {json.dumps(config)};</script>" + inline(
            bundle("otel")
        )
    raise SystemExit(f"unknown agent {agent}")


class Sink:
    """An HTTP server on its own port that records every request sent to it and answers like a
    collector (CORS preflights included): what the agent sends when the page goes away too."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("access-control-allow-origin", "*")
                self.send_header("access-control-allow-headers", "*")
                self.send_header("access-control-allow-methods", "GET, POST")
                self.send_header("content-length", "0")
                self.end_headers()

            def do_OPTIONS(self) -> None:
                self.answer(204)

            def do_GET(self) -> None:
                query = self.path.partition("?")[2].encode()
                sink.got.append({"path": self.path, "headers": dict(self.headers), "body": query})
                self.answer(204)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                sink.got.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.answer(200)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def record(agent: str) -> list[dict[str, Any]]:
    site, sink = Site(), Sink()
    site.start()
    body = LISTENERS if agent.startswith("otlp") else BODY
    url = site.add("/load", page(head(agent, sink.url + "/sink"), body))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            tab = browser.new_context().new_page()
            tab.goto(url)
            tab.wait_for_load_state("load")
            tab.wait_for_timeout(1500)
            tab.click("#b")
            tab.wait_for_timeout(800)
            tab.click("#t")
            tab.wait_for_timeout(3000)
            tab.goto("about:blank")
            tab.wait_for_timeout(1500)
            browser.close()
    finally:
        site.stop()
        sink.server.shutdown()
    return sink.got


def main() -> None:
    agent = sys.argv[1]
    for i, item in enumerate(record(agent)):
        path = HERE / "recorded" / f"{agent}-{i}.bin"
        path.write_bytes(item["body"])
        print(path.name, item["path"], item["headers"].get("Content-Type"), len(item["body"]))


if __name__ == "__main__":
    main()
