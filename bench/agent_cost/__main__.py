"""bench/agent_cost: main-thread time each agent adds to a page load, in Chromium.

Run: ``.venv/bin/python -m bench.agent_cost [--loads 10] [--openrum-only]``. Builds the bundles
with bench/agent_size (``--openrum-only``: OpenRUM's alone), then loads one test page (some DOM,
an image, a few fetches, a click) with each agent — and with none — in Debian's Chromium,
round-robin, ``--loads`` times each. OpenRUM runs twice: the snippet alone (``data-diag="0"``)
and with its diagnostics module on every page view (``data-diag="100"``), whose difference is
the module's cost on a page view that loads it. After
each load has settled (1.5 s after the load event) it reads Chrome's own counters
(CDP ``Performance.getMetrics``: ``TaskDuration``, the main thread's busy time, and
``ScriptDuration``) and reports the median added over the page without an agent. Every agent
sends to a local sink; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench.agent_size.__main__ import AGENT, AGENTS, OUT, build
from bench.report import machine, write_section
from tests.browser.agent_site import CHROMIUM_ARGS, IMAGE, chromium

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>
<script>window.BENCH = {{origin: location.origin, endpoint: location.origin + "/sink"}};</script>
{agent}
</head><body>
<h1>Fresh coffee, delivered</h1>
<img src="/img.png" width="600" height="300">
<ul>{items}</ul>
<button id="buy" onclick="fetch('/api').then((r) => r.text()).then((t) => this.textContent = t)">
Buy</button>
<script>
for (let i = 0; i < 3; i++) fetch("/api?i=" + i);
</script>
</body></html>"""
STATIC = AGENT.parent  # the collector's static folder: openrum.js, openrum-diag.js
DIAG = "openrum+diag"  # OpenRUM with the diagnostics module on every page view
ITEMS = "".join(f"<li>Product {i} <a href='/p/{i}'>details</a></li>" for i in range(300))


def serve(port_holder: list[int]) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.send_header("access-control-allow-origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/page/"):
                stem = path.rsplit("/", 1)[1]
                # OpenRUM: the snippet alone, or with its diagnostics module (which it fetches
                # beside itself, /agents/openrum-diag.js).
                diag = {"openrum": ' data-diag="0"', DIAG: ' data-diag="100"'}.get(stem, "")
                agent = (
                    f'<script async src="/agents/{"openrum" if stem == DIAG else stem}.js" '
                    f'data-app="bench" data-endpoint="/sink"{diag}></script>'
                    if stem != "none"
                    else ""
                )
                self.reply(200, PAGE.format(agent=agent, items=ITEMS).encode(), "text/html")
            elif path == "/agents/openrum-diag.js":
                self.reply(200, (STATIC / "openrum-diag.js").read_bytes(), "text/javascript")
            elif path.startswith("/agents/"):
                self.reply(200, (OUT / Path(path).name).read_bytes(), "text/javascript")
            elif path == "/img.png":
                self.reply(200, IMAGE, "image/png")
            else:
                self.reply(200, b"ok", "text/plain")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.reply(202, b"", "text/plain")

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.send_header("access-control-allow-origin", "*")
            self.send_header("access-control-allow-headers", "*")
            self.send_header("access-control-allow-methods", "POST, GET")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a page closed while its beacon was answered: not the bench's business

    server = Server(("127.0.0.1", 0), Handler)
    port_holder.append(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(loads: int, stems: list[str]) -> dict[str, dict[str, float]]:
    """Median TaskDuration and ScriptDuration (ms) per agent stem, 'none' included."""
    port: list[int] = []
    server = serve(port)
    origin = f"http://127.0.0.1:{port[0]}"
    stems = ["none", *stems]
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in stems}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            for round_ in range(loads + 1):  # the first round warms up, and is not counted
                for stem in stems:
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    cdp = ctx.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    page.goto(f"{origin}/page/{stem}", wait_until="load")
                    page.wait_for_timeout(700)
                    page.click("#buy")
                    page.wait_for_timeout(800)
                    metrics = {
                        m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                    }
                    if round_:
                        samples[stem].append(
                            (metrics["TaskDuration"] * 1000, metrics["ScriptDuration"] * 1000)
                        )
                    ctx.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {
        s: {
            "task": statistics.median(t for t, _ in v),
            "script": statistics.median(x for _, x in v),
        }
        for s, v in samples.items()
    }


def openrum_only() -> dict[str, dict[str, int]]:
    """Build OpenRUM's agent alone (no peers): its bundle and sizes, by stem."""
    subprocess.run(["npm", "--prefix", str(AGENT.parents[3] / "agent"), "run", "--silent",
                    "build"], check=True)  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(AGENT, OUT / "openrum.js")
    return {"openrum": {"brotli": len((STATIC / "openrum.js.br").read_bytes())}}


def diag_lines(result: dict[str, dict[str, float]], sizes: dict[str, dict[str, int]]) -> list[str]:
    """The diagnostics module's rows: its cost per page view that loads it, and on average."""
    module = len((STATIC / "openrum-diag.js.br").read_bytes())
    base, full = result["openrum"], result[DIAG]
    task, script = full["task"] - base["task"], full["script"] - base["script"]
    return [
        f"| OpenRUM + diagnostics module (loaded on this page view) | "
        f"{sizes['openrum']['brotli']:,} + {module:,} B | "
        f"{full['task'] - result['none']['task']:+.1f} ms | "
        f"{full['script'] - result['none']['script']:+.1f} ms |",
        "",
        f"The diagnostics module adds {task:+.1f} ms of main-thread time ({script:+.1f} ms of "
        "script) to a page view that loads it, after the load event; at the default "
        f"`data-diag` of 10 % that is {task / 10:+.1f} ms ({script / 10:+.1f} ms) per page view "
        "on average, and one request of "
        f"{module:,} B (brotli) per diagnosed page view (cached after the first).",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=10, help="page loads per agent")
    parser.add_argument(
        "--openrum-only", action="store_true", help="OpenRUM alone and with diagnostics"
    )
    args = parser.parse_args()
    started = time.monotonic()
    sizes = openrum_only() if args.openrum_only else build()
    agents = {"OpenRUM": AGENTS["OpenRUM"]} if args.openrum_only else AGENTS
    result = measure(args.loads, [*(stem for stem, _ in agents.values()), DIAG])
    base = result["none"]
    lines = [
        "## Agent cost" + (": OpenRUM and its diagnostics module" if args.openrum_only else ""),
        "",
        f"`python -m bench.agent_cost --loads {args.loads}"
        f"{' --openrum-only' if args.openrum_only else ''}` — main-thread time each agent adds "
        "to one page load (300-item list, an image, 4 fetches, a click), Debian's Chromium "
        "headless, round-robin over the agents, the median of "
        f"{args.loads} loads each (after a warm-up round). Added = the page's `TaskDuration` "
        "(main thread busy) and `ScriptDuration` (JavaScript) with the agent minus without, "
        "from Chrome's `Performance.getMetrics`, read 1.5 s after the load event.",
        "",
        f"Without an agent the page takes {base['task']:.1f} ms of main-thread time "
        f"({base['script']:.1f} ms of script).",
        "",
        "| agent | brotli | main thread added | script added |",
        "|---|---:|---:|---:|",
    ]
    for name, (stem, _) in agents.items():
        r = result[stem]
        lines.append(
            f"| {name} | {sizes[stem]['brotli']:,} B | {r['task'] - base['task']:+.1f} ms | "
            f"{r['script'] - base['script']:+.1f} ms |"
        )
    lines += diag_lines(result, sizes)
    lines += [
        "",
        "Main-thread totals include style, layout and paint and move by tens of ms between "
        "runs on a shared 2-core machine (a negative figure is that noise); script time is "
        "the steadier measure.",
        "",
        f"Measured on {machine()} in {time.monotonic() - started:.0f} s.",
    ]
    # OpenRUM alone is a section of its own: it leaves the comparison with the peers as it is.
    write_section("agent_cost_openrum" if args.openrum_only else "agent_cost", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
