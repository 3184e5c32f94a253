"""bench/dashboard_load: a cold load of the dashboard's overview on a slow link, in Chromium.

Run: ``.venv/bin/python -m bench.dashboard_load [--loads 5] [--before REF]``. Loads demo data
(``openrum demo``), starts ``openrum serve`` from this checkout and, with ``--before``, a second
server from the dashboard and server code of git commit REF (its ``openrum/`` and ``web/``
exported to a temporary folder and built there), on the same data. For each load: sign in in one
browser context, then open the overview in a new one holding only the session cookie (an empty
cache and no open connection: a cold load after sign-in), with Chromium's network emulation
(CDP ``Network.emulateNetworkConditions``: 10 Mbit/s down and up, 40 ms latency). Rendered = the
overview's title shown, no panel still loading (``aria-busy``) and a canvas in every chart, read
in the page on each animation frame (``performance.now()``, from navigation start); bytes = the
encoded bytes of every response finished by then (CDP ``Network.loadingFinished``). Medians of
``--loads`` loads each, the two servers taking turns.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from bench.plot import bars
from bench.report import PLOTS, ROOT, machine, write_section
from tests.browser.agent_site import CHROMIUM_ARGS, chromium
from tests.conftest import LiveServer, start_server, stop_server

PASSWORD = "bench password 42"
# The commit before the light dashboard: one 855 KB script, sent uncompressed, no cache policy.
BEFORE = "4da229a"
LINK = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 10_000_000 / 8,
    "uploadThroughput": 10_000_000 / 8,
}
RENDERED = """() => {
  const main = document.querySelector("main");
  if (!main || !main.querySelector("h1") || main.querySelector("[aria-busy=true]")) return false;
  const charts = [...main.querySelectorAll(".chart")];
  return charts.length > 0 && charts.every((c) => c.querySelector("canvas")) && performance.now();
}"""


def sign_in(browser: Browser, url: str) -> Any:
    """The cookies of a signed-in session (signed in through the form, like a person)."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("main h1")
    state = ctx.storage_state()
    ctx.close()
    return state


def cold_load(browser: Browser, url: str) -> dict[str, float]:
    """One cold load of the overview: ms to rendered, bytes received (all, and scripts and styles)."""
    ctx = browser.new_context(
        storage_state=sign_in(browser, url), viewport={"width": 1360, "height": 900}
    )
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    kinds: dict[str, str] = {}
    done: dict[str, float] = {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on(
        "Network.loadingFinished",
        lambda e: done.__setitem__(e["requestId"], e["encodedDataLength"]),
    )
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.emulateNetworkConditions", LINK)
    page.goto(url + "/#/overview")
    ms = float(page.wait_for_function(RENDERED, polling="raf", timeout=60_000).json_value())
    static = sum(n for r, n in done.items() if kinds.get(r) in ("Script", "Stylesheet"))
    # The scripts have run (module scripts run before DOMContentLoaded): the rest is the API.
    ready = float(
        page.evaluate(
            "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
    )
    result = {
        "ms": ms,
        "ready": ready,
        "bytes": sum(done.values()),
        "static": static,
        "requests": len(done),
    }
    ctx.close()
    return result


@contextlib.contextmanager
def before_checkout(ref: str) -> Iterator[Path]:
    """``openrum/`` and ``web/`` of commit ``ref`` in a temporary folder, the dashboard built."""
    with tempfile.TemporaryDirectory(prefix="openrum-before-") as tmp:
        root = Path(tmp)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "openrum", "web"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        (root / "web" / "node_modules").symlink_to((ROOT / "web" / "node_modules").resolve())
        subprocess.run(["node", "build.mjs"], cwd=root / "web", check=True, capture_output=True)
        yield root


def serve(data: Path, code: Path) -> LiveServer:
    env = {
        "OPENRUM_ADMIN_PASSWORD": PASSWORD,
        "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000",
        "PYTHONPATH": str(code),
    }
    cwd = os.getcwd()
    os.chdir(code)  # `python -m openrum` imports the package of the folder it runs in
    try:
        return start_server(data, env=env)
    finally:
        os.chdir(cwd)


def measure(data: Path, servers: dict[str, Path], loads: int) -> dict[str, dict[str, float]]:
    """Median of each figure of ``cold_load`` per server, the servers taking turns."""
    live = {name: serve(data / name, code) for name, code in servers.items()}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            for round_ in range(loads + 1):  # the first round warms the servers up: not counted
                for name, server in live.items():
                    r = cold_load(browser, server.url)
                    if round_:
                        samples[name].append(r)
            browser.close()
    finally:
        for server in live.values():
            stop_server(server)
    return {
        name: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
        for name, runs in samples.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=5, help="cold loads per server")
    parser.add_argument("--before", default=BEFORE, help="git commit to compare with ('' for none)")
    args = parser.parse_args()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="openrum-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        data = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "openrum", "demo", "--data", str(data / "after"),
             "--sessions", "300", "--days", "2"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        servers = {"after": ROOT}
        if args.before:
            servers = {"before": stack.enter_context(before_checkout(args.before)), **servers}
            shutil.copytree(data / "after", data / "before")
        load = os.getloadavg()[0]
        result = measure(data, servers, args.loads)
        load = max(load, os.getloadavg()[0])
    lines = [
        "## Dashboard load",
        "",
        f"`python -m bench.dashboard_load --loads {args.loads}` — a cold load of the overview "
        "after sign-in, in Debian's Chromium (headless) with its network emulation: 10 Mbit/s "
        "down and up, 40 ms latency added to each request. Cold: a new browser context holding "
        "only the session cookie (empty cache, no open connection). Rendered: the overview's "
        "title shown, no panel loading and a canvas in every chart, timed from navigation start; "
        "bytes: every response finished by then (headers included), of which scripts and style. "
        f"Demo data (300 sessions over 2 days); medians of {args.loads} loads, after a warm-up "
        "round, the servers taking turns. Target: rendered within 1.5 s. Scripts run: "
        "`DOMContentLoaded` (the page's module scripts have run); from there to rendered, the "
        "dashboard waits for its API requests (`/api/v1/me`, `/api/v1/apps`, then the "
        "overview's queries).",
        "",
    ]
    if "before" in result:
        lines += [
            f"Before: the dashboard and server of commit `{args.before}` (one 855 KB script, "
            "sent uncompressed), built and served from an export of that commit on a copy of "
            "the same data.",
            "",
        ]
    lines += [
        "| build | scripts run | rendered | bytes received | scripts and style | requests |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in result.items():
        lines.append(
            f"| {name} | {r['ready']:,.0f} ms | {r['ms']:,.0f} ms | {r['bytes'] / 1024:,.0f} KB | "
            f"{r['static'] / 1024:,.0f} KB | {r['requests']:.0f} |"
        )
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "dashboard_load.svg").write_text(
        bars(
            "Cold load of the overview, 10 Mbit/s, 40 ms",
            "ms from navigation start",
            [
                item
                for name, r in result.items()
                for item in ((f"{name}: scripts run", r["ready"]), (f"{name}: rendered", r["ms"]))
            ],
        )
    )
    lines += [
        "",
        "![Cold load of the overview](benchmarks/dashboard_load.svg)",
        "",
        "The scripts' part is the dashboard's; the rest is the server answering the overview's "
        "queries, which the machine's other work slows: the 1-minute load average reached "
        f"{load:.1f} on its {os.cpu_count()} cores during this run.",
        "",
        f"Measured on {machine()} in {time.monotonic() - started:.0f} s.",
    ]
    write_section("dashboard_load", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
