"""The alerts API on a real `openrum serve` process: rules and channels through the API with a
token, beacons in, a notification out to a real webhook receiver, incidents listed, /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openrum.store.duckdb import DuckDBStore
from tests.alerts.conftest import Receiver
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

ORIGIN = "https://shop.example"
BEACON = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME}
JSON = {"content-type": "application/json"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = start_server(
        tmp_path / "data",
        *("--setting", "alerts_interval_s", "0.5", "--setting", "alerts_lateness_s", "0"),
        *("--setting", "public_url", "https://rum.example"),
    )
    yield s
    stop_server(s)


def call(
    server: LiveServer, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = dict(JSON)
    if token:
        headers["authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else None
    status, _, out = server.request(method, path, raw, headers)
    return status, json.loads(out) if out else None


def eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def slow_page(aid: str, start: int) -> dict[str, Any]:
    return load_action(aid, start, vitals={"lcp": {"id": f"l{aid}", "value": 6000}})


def test_a_rule_made_through_the_api_notifies_its_incident_once(
    server: LiveServer, receiver: Receiver
) -> None:
    assert call(server, "POST", "/api/v1/apps", {"name": "Shop", "id": "shop",
                                                  "origins": [ORIGIN]})[0] == 201  # fmt: skip
    assert call(server, "POST", "/api/v1/apps", {"name": "Blog", "id": "blog"})[0] == 201
    assert server.request("GET", "/api/v1/alerts/rules", auth=False)[0] == 401

    status, channel = call(server, "POST", "/api/v1/alerts/channels", {
        "name": "ops", "kind": "webhook", "url": receiver.url, "secret": "k3y"})  # fmt: skip
    assert status == 201 and channel["secrets"] == ["secret"] and "secret" not in channel
    status, listed = call(server, "GET", "/api/v1/alerts/channels")
    assert status == 200 and "k3y" not in json.dumps(listed)

    rule = {"app": "shop", "name": "slow LCP", "metric": "lcp:p75", "window": "5m",
            "condition": {"op": "above", "threshold": 2500}, "min_sample": 2,
            "severity": "critical", "channels": [channel["id"]]}  # fmt: skip
    status, error = call(server, "POST", "/api/v1/alerts/rules", {**rule, "metric": "lcp:p77"})
    assert status == 400 and "unknown metric 'lcp:p77'" in error["error"]
    status, error = call(server, "POST", "/api/v1/alerts/rules", {**rule, "channels": ["nope"]})
    assert status == 400 and "no channel 'nope'" in error["error"]
    status, created = call(server, "POST", "/api/v1/alerts/rules", rule)
    assert status == 201 and created["id"]
    rule_id = created["id"]

    # A token of another application sees none of it and changes nothing.
    status, token = call(server, "POST", "/api/v1/tokens", {"name": "blog ci", "app": "blog"})
    blog = token["token"]
    assert call(server, "GET", "/api/v1/alerts/rules", token=blog) == (200, {"rules": []})
    assert call(server, "POST", "/api/v1/alerts/rules", rule, token=blog)[0] == 403
    assert call(server, "DELETE", f"/api/v1/alerts/rules/{rule_id}", token=blog)[0] == 403
    assert call(server, "GET", "/api/v1/alerts/channels", token=blog)[0] == 403

    # Slow pages now, and two in one whole 5-minute window 10 to 15 minutes ago (the 7-day
    # test replays windows aligned to their length: ten seconds apart at a random instant, the
    # two would straddle a window's edge one run in thirty).
    earlier = (now_ms() - 600_000) // 300_000 * 300_000
    for i, start in enumerate([earlier + 1000, earlier + 2000, now_ms() - 2000,
                               now_ms() - 1000]):  # fmt: skip
        sent = server.post("/api/v1/beacon", encode(beacon("shop", [slow_page(f"a{i}", start)])),
                           BEACON, auth=False)  # fmt: skip
        assert sent[0] == 202

    [request] = receiver.wait_for(1, timeout=60)
    payload = json.loads(request["body"])
    assert request["headers"]["x-openrum-event"] == "firing"
    incident = payload["incident"]
    assert (incident["app"], incident["severity"], incident["metric"], incident["value"]) == (
        "shop", "critical", "lcp:p75", 6000.0,
    )  # fmt: skip
    assert incident["link"].startswith("https://rum.example/#/overview?app=shop&range=custom")

    status, found = call(server, "GET", "/api/v1/incidents?app=shop&state=firing")
    assert status == 200 and [i["id"] for i in found["incidents"]] == [incident["id"]]
    assert found["incidents"][0]["detail"]["rule_name"] == "slow LCP"
    assert call(server, "GET", "/api/v1/incidents?state=resolved") == (200, {"incidents": []})
    assert call(server, "GET", "/api/v1/incidents", token=blog) == (200, {"incidents": []})
    assert call(server, "GET", "/api/v1/incidents?state=open")[0] == 400
    assert eventually(lambda: 'openrum_alerts_firing{severity="critical"} 1'
                      in server.request("GET", "/metrics")[2].decode())  # fmt: skip
    metrics = server.request("GET", "/metrics")[2].decode()
    assert 'openrum_alert_deliveries_total{outcome="ok"} 1' in metrics
    assert 'openrum_alert_deliveries_total{outcome="failed"} 0' in metrics
    assert "openrum_alert_evaluation_failures_total 0" in metrics

    status, tested = call(server, "POST", f"/api/v1/alerts/rules/{rule_id}/test")
    assert status == 200 and tested["would_have_fired"] is True
    assert tested["windows"] == 7 * 24 * 12 and tested["breached"] >= 1
    assert tested["incidents"][0]["detail"]["value"] == 6000.0
    # A rule not saved yet, tried first: LCP never went above 7 s.
    status, tried = call(server, "POST", "/api/v1/alerts/test",
                         {**rule, "condition": {"op": "above", "threshold": 7000}})  # fmt: skip
    assert status == 200 and tried["would_have_fired"] is False and tried["breached"] == 0
    status, error = call(server, "POST", "/api/v1/alerts/test", {**rule, "window": "2h"})
    assert status == 400 and "unknown window '2h'" in error["error"]
    status, log = call(server, "GET", f"/api/v1/alerts/deliveries?incident={incident['id']}")
    assert status == 200
    assert [(d["channel"], d["event"], d["attempt"], d["ok"], d["status"])
            for d in log["deliveries"]] == [(channel["id"], "firing", 1, True, "200")]  # fmt: skip
    assert call(server, "GET", "/api/v1/alerts/deliveries", token=blog)[0] == 403

    # Still firing: no second notification.
    receiver.wait_for(2, timeout=2)
    assert len(receiver.requests()) == 1

    # Changes: a new name, then deleted (its incident resolves with it).
    status, changed = call(server, "PUT", f"/api/v1/alerts/rules/{rule_id}",
                           {**rule, "name": "LCP"})  # fmt: skip
    assert status == 200 and changed["name"] == "LCP" and changed["id"] == rule_id
    assert call(server, "DELETE", f"/api/v1/alerts/channels/{channel['id']}")[0] == 409
    assert call(server, "DELETE", f"/api/v1/alerts/rules/{rule_id}")[0] == 204
    assert call(server, "DELETE", f"/api/v1/alerts/rules/{rule_id}")[0] == 404
    status, renamed = call(server, "PUT", f"/api/v1/alerts/channels/{channel['id']}",
                           {"name": "ops 2", "kind": "webhook", "url": receiver.url})  # fmt: skip
    assert status == 200 and renamed["secrets"] == ["secret"]  # kept
    assert call(server, "DELETE", f"/api/v1/alerts/channels/{channel['id']}")[0] == 204

    # A maintenance window: a silence of the application, set ahead.
    window = {"app": "shop", "start": "2030-01-01T22:00:00Z", "end": "2030-01-02T02:00:00+01:00",
              "comment": "database upgrade"}  # fmt: skip
    status, silence = call(server, "POST", "/api/v1/alerts/silences", window)
    assert status == 201 and silence["end"] == "2030-01-02T01:00:00Z"
    assert call(server, "GET", "/api/v1/alerts/silences") == (200, {"silences": [silence]})
    assert call(server, "GET", "/api/v1/alerts/silences", token=blog) == (200, {"silences": []})
    assert call(server, "POST", "/api/v1/alerts/silences", window, token=blog)[0] == 403
    status, error = call(server, "POST", "/api/v1/alerts/silences", {**window, "end": "x"})
    assert status == 400 and "'end' is not an ISO-8601 time" in error["error"]
    assert call(server, "DELETE", f"/api/v1/alerts/silences/{silence['id']}")[0] == 204

    stop_server(server)
    store = DuckDBStore(server.data / "openrum.duckdb")
    try:
        _, rows = store.select("SELECT action, detail FROM audit_log WHERE action LIKE "
                               "'alert_%' ORDER BY time", [])  # fmt: skip
    finally:
        store.close()
    assert [r[0] for r in rows] == [
        "alert_channel_created", "alert_rule_created", "alert_rule_changed",
        "alert_rule_deleted", "alert_channel_changed", "alert_channel_deleted",
        "alert_silence_created", "alert_silence_deleted",
    ]  # fmt: skip
    assert "k3y" not in json.dumps([r[1] for r in rows])


def test_a_channel_test_sends_one_notification(server: LiveServer, receiver: Receiver) -> None:
    status, channel = call(server, "POST", "/api/v1/alerts/channels",
                           {"name": "chat", "kind": "slack", "url": receiver.url})  # fmt: skip
    assert status == 201 and "url" not in channel
    status, result = call(server, "POST", f"/api/v1/alerts/channels/{channel['id']}/test")
    assert status == 200 and result["ok"] is True
    [request] = receiver.requests()
    assert json.loads(request["body"])["text"].startswith("[TEST info] test notification")
    assert call(server, "POST", "/api/v1/alerts/channels/nope/test")[0] == 404
    bad = {"name": "chat", "kind": "slack", "url": "nope"}
    status, error = call(server, "POST", "/api/v1/alerts/channels", bad)
    assert status == 400 and "url" in error["error"]
    assert call(server, "POST", "/api/v1/alerts/channels", {"name": 1})[0] == 400
