"""The Alerts page in real Chromium against `openrum serve` (docs/alerts.md): an administrator
adds a channel, creates a rule, tests it, sees the incident it opens on slow pages, silences it,
edits and deletes it; a read-only reader sees it all and can change nothing. Every change is in
the audit log. Screenshot: docs/screenshots/alerts.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from openrum.store.duckdb import DuckDBStore
from tests.alerts.conftest import Receiver, receiver, receiver_factory  # noqa: F401 -- fixtures
from tests.beacons import beacon, encode, load_action, now_ms
from tests.browser.conftest import poll
from tests.browser.test_dashboard import PASSWORD, settle, shot, sign_in
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

pytestmark = pytest.mark.browser
ORIGIN = "https://shop.example"
SECRET = "k3y-never-shown-back"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = start_server(
        tmp_path / "data",
        # Evaluated twice a second, each window judged as soon as it ends: the incident shows
        # within the test's time.
        *("--setting", "alerts_interval_s", "0.5", "--setting", "alerts_lateness_s", "0"),
        env={"OPENRUM_ADMIN_PASSWORD": PASSWORD, "OPENRUM_LOGIN_ATTEMPTS_PER_MIN": "1000"},
    )
    yield s
    stop_server(s)


def call(server: LiveServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = json.dumps(body).encode() if body is not None else None
    status, _, out = server.request(method, path, raw, {"content-type": "application/json"})
    return status, json.loads(out) if out else None


def shop_with_slow_checkouts(server: LiveServer) -> None:
    """The application, and checkouts with an LCP of 6 s now and ten minutes ago (a window of
    the 7-day test, before the rule existed)."""
    status, _ = call(server, "POST", "/api/v1/apps", {"name": "Shop", "id": "shop",
                                                       "origins": [ORIGIN]})  # fmt: skip
    assert status == 201
    headers = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME}
    for i, start in enumerate([now_ms() - 600_000, now_ms() - 590_000, now_ms() - 3000,
                               now_ms() - 2000]):  # fmt: skip
        action = load_action(f"a{i}", start, url=f"{ORIGIN}/checkout",
                             vitals={"lcp": {"id": f"l{i}", "value": 6000}})  # fmt: skip
        sent = server.post("/api/v1/beacon", encode(beacon("shop", [action])), headers, auth=False)
        assert sent[0] == 202

    body = {"app": "shop", "metrics": ["count"], "from": "2000-01-01T00:00:00Z"}
    found = poll(lambda: server.query(body)["rows"][0]["count"], lambda n: n == 4)
    assert found == 4, "the beacons were not stored"


def open_alerts(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/#/alerts?app=shop")
    settle(page)
    expect(page.locator("nav a[aria-current=page][href^='#/alerts']")).to_have_count(1)


def test_an_administrator_manages_alerts(
    browser: Browser,
    server: LiveServer,
    receiver: Receiver,  # noqa: F811
) -> None:
    shop_with_slow_checkouts(server)
    w = sign_in(browser, server)
    page = w.page
    settle(page)  # the overview first: its late panels would land on the next page
    open_alerts(page, server)
    main = page.locator("main")
    expect(main.get_by_role("table", name="Alert rules")).to_have_count(0)
    expect(main).to_contain_text("No rule yet")

    # A channel: its secret is sent once and never shown back.
    main.get_by_role("button", name="Add channel").click()
    form = main.get_by_role("form", name="New channel")
    form.get_by_label("Name", exact=True).fill("Ops hook")
    form.get_by_label("URL", exact=True).fill(receiver.url)
    form.get_by_label("Signing secret (optional)").fill(SECRET)
    form.get_by_role("button", name="Add channel").click()
    channels = main.get_by_role("table", name="Channels")
    expect(channels.locator("tbody tr", has_text="Ops hook")).to_contain_text("signing secret set")
    expect(form).to_have_count(0)
    assert SECRET not in page.content()
    assert SECRET not in json.dumps(call(server, "GET", "/api/v1/alerts/channels")[1])

    # A rule, tried on the last 7 days before it is saved.
    main.get_by_role("button", name="New rule").click()
    form = main.get_by_role("form", name="New rule")
    form.get_by_label("Name", exact=True).fill("Checkout LCP is slow")
    form.get_by_label("Metric").fill("lcp:p75")
    form.get_by_label("Window").select_option("5m")
    form.get_by_label("Threshold").fill("4000")
    form.get_by_label("Minimum sample").fill("2")
    form.get_by_label("Severity").select_option("critical")
    form.get_by_role("button", name="Add a filter").click()
    form.get_by_label("Rule filter value").fill("/checkout")
    form.get_by_label("Ops hook").check()
    form.get_by_role("button", name="Test: would it have fired?").click()
    expect(form).to_contain_text("Would have fired", timeout=20000)
    expect(form.get_by_role("table", name="Incidents the rule would have opened")).to_contain_text(
        "6.00 s"
    )
    form.get_by_role("button", name="Create rule").click()
    rules = main.get_by_role("table", name="Alert rules")
    row = rules.locator("tbody tr", has_text="Checkout LCP is slow")
    expect(row).to_contain_text("Page is /checkout")
    expect(row).to_contain_text("above 4.00 s")

    # The scheduler opens an incident on the slow checkouts; the page shows it within seconds.
    incidents = main.get_by_role("table", name="Incidents")
    firing = incidents.locator("tbody tr", has_text="Checkout LCP is slow")
    expect(firing).to_contain_text("Firing", timeout=20000)
    expect(firing).to_contain_text("6.00 s")
    expect(row).to_contain_text("Firing")
    link = firing.get_by_role("link", name="Show in dashboard").get_attribute("href") or ""
    assert link.startswith("/#/overview?app=shop&range=custom&from=")
    assert "f=page%7Cis%7C%2Fcheckout" in link
    [sent] = receiver.wait_for(1)
    assert json.loads(sent["body"])["incident"]["rule"]["name"] == "Checkout LCP is slow"

    # The saved rule's own test.
    row.get_by_role("button", name="Test").click()
    expect(main.locator(".card", has_text="Test of “Checkout LCP is slow”")).to_contain_text(
        "Would have fired", timeout=20000
    )

    # A maintenance window for the application.
    main.get_by_role("button", name="Add silence").click()
    form = main.get_by_role("form", name="New silence")
    form.get_by_label("Comment").fill("database upgrade")
    form.get_by_role("button", name="Add silence").click()
    silences = main.get_by_role("table", name="Silences")
    expect(silences.locator("tbody tr", has_text="database upgrade")).to_contain_text("Active")
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the picture
    shot(page, "alerts")

    # Edited: a new name, the rest kept.
    row.get_by_role("button", name="Edit").click()
    form = main.get_by_role("form", name="Edit rule Checkout LCP is slow")
    expect(form.get_by_label("Rule filter value")).to_have_value("/checkout")
    form.get_by_label("Name", exact=True).fill("Checkout LCP")
    form.get_by_role("button", name="Save rule").click()
    row = rules.locator("tbody tr", has_text="Checkout LCP")
    expect(row).not_to_contain_text("is slow")
    expect(row).to_contain_text("Page is /checkout")
    [stored] = call(server, "GET", "/api/v1/alerts/rules?app=shop")[1]["rules"]
    assert (stored["name"], stored["window"], stored["min_sample"]) == ("Checkout LCP", "5m", 2)

    # A built-in detector switched off.
    main.get_by_label("Traffic drop").uncheck()
    expect(main.get_by_text("Traffic drop off.")).to_be_visible()
    [app] = call(server, "GET", "/api/v1/apps")[1]["apps"]
    assert app["config"]["detectors"]["traffic_drop"] is False

    # A write without the session's CSRF token is refused, as everywhere in the dashboard.
    refused = page.evaluate("""() => fetch("/api/v1/alerts/silences", {method: "POST",
        headers: {"content-type": "application/json"},
        body: JSON.stringify({app: "shop", start: "2030-01-01T00:00:00Z",
                              end: "2030-01-02T00:00:00Z"})}).then((r) => r.status)""")
    assert refused == 403

    # Deleted, after a confirmation: its incident resolves.
    row.get_by_role("button", name="Delete rule Checkout LCP").click()
    row.get_by_role("button", name="Delete rule Checkout LCP").click()
    expect(main.get_by_role("table", name="Alert rules")).to_have_count(0)
    expect(incidents.locator("tbody tr", has_text="Checkout LCP")).to_contain_text(
        "Resolved", timeout=20000
    )
    silences.get_by_role("button", name="Delete silence database upgrade").click()
    silences.get_by_role("button", name="Delete silence database upgrade").click()
    expect(main.get_by_role("table", name="Silences")).to_have_count(0)
    channels.get_by_role("button", name="Delete channel Ops hook").click()
    channels.get_by_role("button", name="Delete channel Ops hook").click()
    expect(main.get_by_role("table", name="Channels")).to_have_count(0)
    assert w.errors == [] and w.dialogs == []
    page.context.close()

    stop_server(server)
    store = DuckDBStore(server.data / "openrum.duckdb")
    try:
        _, rows = store.select(
            "SELECT actor, action, detail FROM audit_log WHERE action LIKE 'alert_%' "
            "OR action = 'app_changed' ORDER BY time",
            [],
        )
    finally:
        store.close()
    assert [(r[0], r[1]) for r in rows] == [
        ("admin", "alert_channel_created"), ("admin", "alert_rule_created"),
        ("admin", "alert_silence_created"), ("admin", "alert_rule_changed"),
        ("admin", "app_changed"), ("admin", "alert_rule_deleted"),
        ("admin", "alert_silence_deleted"), ("admin", "alert_channel_deleted"),
    ]  # fmt: skip
    assert SECRET not in json.dumps([r[2] for r in rows])


def test_a_reader_sees_alerts_and_cannot_change_them(
    browser: Browser,
    server: LiveServer,
    receiver: Receiver,  # noqa: F811
) -> None:
    shop_with_slow_checkouts(server)
    hook = {"name": "Ops hook", "kind": "webhook", "url": receiver.url}
    status, channel = call(server, "POST", "/api/v1/alerts/channels", hook)
    assert status == 201
    rule = {"app": "shop", "name": "Checkout LCP is slow", "metric": "lcp:p75", "window": "5m",
            "condition": {"op": "above", "threshold": 4000}, "min_sample": 2,
            "channels": [channel["id"]]}  # fmt: skip
    assert call(server, "POST", "/api/v1/alerts/rules", rule)[0] == 201
    silence = {"app": "shop", "start": "2030-01-01T22:00:00Z", "end": "2030-01-02T01:00:00Z",
               "comment": "planned upgrade"}  # fmt: skip
    assert call(server, "POST", "/api/v1/alerts/silences", silence)[0] == 201
    status, token = call(server, "POST", "/api/v1/tokens", {"name": "viewer", "read_only": True})
    assert status == 201

    context = browser.new_context(
        viewport={"width": 1360, "height": 900},
        extra_http_headers={"authorization": f"Bearer {token['token']}"},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    settle(page)
    open_alerts(page, server)
    main = page.locator("main")
    expect(main.get_by_role("table", name="Alert rules")).to_contain_text("Checkout LCP is slow")
    expect(main.get_by_role("table", name="Silences")).to_contain_text("Planned")
    firing = main.get_by_role("table", name="Incidents").locator("tbody tr").first
    expect(firing).to_contain_text("Firing", timeout=20000)
    expect(main).to_contain_text("You may read this page")
    expect(main).to_contain_text("only an administrator sees and changes them")
    for name in ("New rule", "Edit", "Test", "Delete", "Add silence", "Add channel"):
        expect(main.get_by_role("button", name=name)).to_have_count(0)
    for box in main.locator(".detector input[type=checkbox]").all():
        expect(box).to_be_disabled()
    expect(main.get_by_role("form")).to_have_count(0)
    assert errors == []
    context.close()
