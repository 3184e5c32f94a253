"""Availability checks through the API of a real `openrum serve` process: made by an
administrator, refused to others, run by the server against a real site process that goes down
and comes back, its incident notified to a real webhook receiver, its runs listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from openrum.store.duckdb import DuckDBStore
from tests.alerts.conftest import Receiver, Site
from tests.alerts.test_api import call, eventually
from tests.conftest import LiveServer, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = start_server(
        tmp_path / "data",
        *("--setting", "alerts_interval_s", "0.3", "--setting", "checks_min_every_s", "1"),
    )
    yield s
    stop_server(s)


def test_a_check_made_through_the_api_fails_and_recovers(
    server: LiveServer, receiver: Receiver, site: Site
) -> None:
    assert call(server, "POST", "/api/v1/apps", {"name": "Shop", "id": "shop"})[0] == 201
    status, channel = call(server, "POST", "/api/v1/alerts/channels",
                           {"name": "ops", "kind": "webhook", "url": receiver.url})  # fmt: skip
    assert status == 201
    check = {"id": "home", "app": "shop", "name": "Home page", "url": site.url, "every_s": 1,
             "timeout_s": 1, "expect_text": "shop is open",
             "channels": [channel["id"]]}  # fmt: skip
    # Only administrators configure checks: the server connects wherever one points.
    status, token = call(server, "POST", "/api/v1/tokens", {"name": "shop ci", "app": "shop"})
    shop = token["token"]
    assert call(server, "POST", "/api/v1/checks", check, token=shop)[0] == 403
    status, error = call(server, "POST", "/api/v1/checks", {**check, "url": "file:///etc/passwd"})
    assert status == 400 and "http or https" in error["error"]
    status, error = call(server, "POST", "/api/v1/checks", {**check, "app": "nope"})
    assert status == 404
    assert call(server, "POST", "/api/v1/checks", check) == (201, {
        **check, "expect_status": 200, "tls_min_days": 0.0, "failures": 2,
        "severity": "critical", "enabled": True,
    })  # fmt: skip
    assert call(server, "POST", "/api/v1/checks", check)[0] == 409

    def runs() -> list[dict[str, object]]:
        return call(server, "GET", "/api/v1/checks?app=shop&runs=50", token=shop)[1]["checks"][0][
            "runs"
        ]

    assert eventually(lambda: len(runs()) >= 1, 20)
    assert runs()[0]["ok"] is True and runs()[0]["status"] == 200
    site.down()
    [fired] = receiver.wait_for(1, timeout=30)
    assert fired["headers"]["x-openrum-event"] == "firing"
    incident = json.loads(fired["body"])["incident"]
    assert (incident["rule"]["id"], incident["metric"]) == ("check-home", "check_failures")
    assert eventually(lambda: 'openrum_alerts_firing{severity="critical"} 1'
                      in server.request("GET", "/metrics")[2].decode())  # fmt: skip
    failed = [r for r in runs() if not r["ok"]]
    assert len(failed) >= 2 and failed[0]["status"] == 0
    site.up()
    assert [r["headers"]["x-openrum-event"] for r in receiver.wait_for(2, timeout=30)] == [
        "firing", "resolved",
    ]  # fmt: skip
    assert eventually(lambda: 'openrum_alerts_firing{severity="critical"} 0'
                      in server.request("GET", "/metrics")[2].decode())  # fmt: skip
    status, listed = call(server, "GET", "/api/v1/checks/home/runs?limit=1", token=shop)
    assert status == 200 and listed["runs"][0]["ok"] is True
    assert call(server, "GET", "/api/v1/checks/home/runs?from=2999-01-01T00:00:00Z")[1] == {
        "check": "home", "runs": [],
    }  # fmt: skip
    assert call(server, "GET", "/api/v1/checks/home/runs?limit=x")[0] == 400
    assert call(server, "GET", "/api/v1/checks/nope/runs")[0] == 404
    status, incidents = call(server, "GET", "/api/v1/incidents?app=shop")
    assert [i["state"] for i in incidents["incidents"]] == ["resolved"]

    status, changed = call(server, "PUT", "/api/v1/checks/home", {**check, "enabled": False})
    assert status == 200 and changed["enabled"] is False
    assert call(server, "PUT", "/api/v1/checks/home", check, token=shop)[0] == 403
    assert call(server, "DELETE", "/api/v1/checks/home", token=shop)[0] == 403
    assert call(server, "DELETE", "/api/v1/checks/home")[0] == 204
    assert call(server, "GET", "/api/v1/checks") == (200, {"checks": []})

    stop_server(server)
    store = DuckDBStore(server.data / "openrum.duckdb")
    try:
        _, rows = store.select("SELECT action FROM audit_log WHERE action LIKE 'check_%' "
                               "ORDER BY time", [])  # fmt: skip
    finally:
        store.close()
    assert [r[0] for r in rows] == ["check_created", "check_changed", "check_deleted"]
