"""Error triage on the Errors page, in real Chromium against `openrum serve` with demo data: the
list sorted by impact and filtered, several groups resolved at once, a resolved group that came
back shown as regressed, a group's history. The screenshot docs/screenshots/errors-triage.png."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.beacons import beacon, encode, load_action, now_ms
from tests.browser.conftest import poll
from tests.browser.test_dashboard import SHOTS, settle
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser
PASSWORD = "triage password 42"
BACK = "Checkout total is NaN"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("triage") / "data"
    subprocess.run(
        [sys.executable, "-m", "openrum", "demo", "--data", str(data), "--sessions", "200",
         "--days", "1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = start_server(data, env={"OPENRUM_ADMIN_PASSWORD": PASSWORD,
                                     "OPENRUM_RATE_LIMIT_IP_PER_S": "0"})  # fmt: skip
    yield server
    stop_server(server)


def api(server: LiveServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    status, _, raw = server.request(method, path, data, {"content-type": "application/json"})
    assert status == 200, raw
    return json.loads(raw)


def send_error(server: LiveServer, message: str, release: str) -> None:
    body = beacon("demo", [load_action(f"a{now_ms()}"),
                           {"kind": "error", "id": f"e{now_ms()}", "type": "js",
                            "time": now_ms(), "message": message}],
                  env={"conn": "4g", "release": release})  # fmt: skip
    headers = {"content-type": "text/plain", "user-agent": UA_CHROME}
    assert server.post("/api/v1/beacon", encode(body), headers, auth=False)[0] == 202


def groups(server: LiveServer, query: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api(
        server, "GET", f"/api/v1/errors?app=demo&range=24h&limit=1000{query}"
    )["groups"]
    return found


@pytest.fixture
def page(browser: Browser, demo: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    p = context.new_page()
    thrown: list[str] = []
    p.on("pageerror", lambda e: thrown.append(str(e)))
    p.goto(demo.url + "/")
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_selector("nav a[aria-current=page]", state="attached")
    yield p
    assert thrown == [], f"the page threw: {thrown}"
    context.close()


def numbers(p: Page, column: str) -> list[float]:
    """The numbers of a column of the groups' table, top to bottom."""
    table = p.get_by_role("table", name="Error groups")
    heads = [h.strip() for h in table.locator("thead th").all_text_contents()]
    i = heads.index(column)
    cells = table.locator(f"tbody tr td:nth-child({i + 1})").all_text_contents()
    return [float(c.replace(",", "").replace("\u202f", "").strip() or 0) for c in cells]


def test_triage_on_the_errors_page(page: Page, demo: LiveServer) -> None:
    # A group resolved, then seen again in a later release: regressed.
    send_error(demo, BACK, "2026.11.1")
    [back] = poll(lambda: [g for g in groups(demo) if g["message"] == BACK], bool, 30)
    api(demo, "POST", "/api/v1/errors/status",
        {"app": "demo", "fingerprints": [back["fingerprint"]], "status": "resolved"})  # fmt: skip
    send_error(demo, BACK, "2026.11.2")
    poll(
        lambda: [g["status"] for g in groups(demo) if g["message"] == BACK],
        ["regressed"].__eq__,
        30,
    )

    # The open groups, by affected sessions; the regressed one among them, marked.
    page.goto(f"{demo.url}/#/errors?app=demo&range=24h")
    settle(page)
    table = page.get_by_role("table", name="Error groups")
    row = table.locator("tbody tr", has_text=BACK)
    expect(row.locator(".status")).to_have_text("regressed")
    sessions = numbers(page, "Sessions")
    assert len(sessions) > 3 and sessions == sorted(sessions, reverse=True)
    # Sorted by events instead.
    page.get_by_label("Sort by", exact=True).select_option("errors")
    expect(page).to_have_url(re.compile(r"sort=errors"))
    settle(page)
    counts = numbers(page, "Count")
    assert counts == sorted(counts, reverse=True)
    # Filtered by type: request errors only.
    page.get_by_label("Type", exact=True).select_option("request")
    settle(page)
    tags = page.get_by_role("table", name="Error groups").locator("tbody .tag").all_text_contents()
    assert tags and set(tags) == {"request"}
    page.get_by_label("Type", exact=True).select_option("")
    settle(page)
    page.get_by_label("Sort by", exact=True).select_option("sessions")
    settle(page)

    # Two groups selected (the screenshot shows them), resolved at once.
    rows = page.get_by_role("table", name="Error groups").locator("tbody tr")
    before = rows.count()
    picked = [rows.nth(i).locator(".msg").inner_text() for i in (0, 1)]
    for i in (0, 1):
        rows.nth(i).locator("input[type=checkbox]").check()
    expect(page.get_by_role("group", name="Selected error groups")).to_contain_text("2 selected")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "errors-triage.png"), full_page=True)
    page.get_by_role("button", name="Resolve", exact=True).click()
    settle(page)
    rows = page.get_by_role("table", name="Error groups").locator("tbody tr")
    expect(rows).to_have_count(before - 2)
    for message in picked:
        expect(rows.filter(has_text=message)).to_have_count(0)
    # They are under Resolved now, and were audited.
    page.get_by_label("Status", exact=True).select_option("resolved")
    settle(page)
    resolved = page.get_by_role("table", name="Error groups").locator("tbody tr")
    for message in picked:
        expect(resolved.filter(has_text=message).first.locator(".status")).to_have_text("resolved")
    resolved.filter(has_text=picked[0]).first.locator(".msg").click()
    settle(page)
    history = page.locator("section.card", has_text="Status history")
    expect(history).to_contain_text("unresolved → resolved")
    expect(history).to_contain_text("admin")
