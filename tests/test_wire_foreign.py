"""The ingest endpoints of foreign agents (docs/ingest.md) on a real `openrum serve` process:
payloads recorded from the real SDKs are stored and queryable like native beacons; bad ones get
a 4xx with a reason that /metrics counts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import UA_CHROME, LiveServer
from tests.test_wire import create_app, raw_request, wait_for

ORIGIN = "https://shop.example"
RECORDED = Path(__file__).parent / "foreign" / "recorded"
FORM = {"content-type": "application/x-www-form-urlencoded", "user-agent": UA_CHROME}


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def everything(app: str) -> dict[str, object]:
    return {"app": app, "user_type": "all", "from": "2000-01-01T00:00:00Z"}


def test_boomerang_beacons_are_stored_and_bad_ones_counted(live_server: LiveServer) -> None:
    app = create_app(live_server)
    path = f"/ingest/boomerang/{app}"
    status, headers, _ = live_server.post(
        path, recorded("boomerang-load.txt"), {**FORM, "origin": ORIGIN}, auth=False
    )
    assert status == 202
    assert headers["access-control-allow-origin"] == ORIGIN
    query = recorded("boomerang-xhr.txt").decode()
    status, _, _ = live_server.request(
        "GET", f"{path}?{query}", headers={**FORM, "referer": ORIGIN + "/"}, auth=False
    )
    assert status == 202
    status, _ = raw_request(
        live_server, "POST", path, recorded("boomerang-error.txt"), {**FORM, "origin": ORIGIN}
    )
    assert status == 202
    wait_for(
        live_server,
        {**everything(app), "metrics": ["count"], "dimensions": ["action_type", "page"]},
        [
            {"action_type": "load", "page": "/load", "count": 1},
            {"action_type": "xhr", "page": "/load", "count": 1},
        ],
        timeout=5,
    )
    wait_for(
        live_server,
        {**everything(app), "metrics": ["errors"], "dimensions": ["error_type"]},
        [{"error_type": "js", "errors": 2}, {"error_type": "request", "errors": 1}],
        timeout=5,
    )
    bad = [
        (path, b"pid=p1&err=~(~(m~'x", {**FORM, "origin": ORIGIN}, 400, "malformed_field"),
        (path, b"u=x&t_done=1", {**FORM, "origin": ORIGIN}, 400, "missing_field"),
        (path, b"pid=p1", {**FORM, "origin": "https://evil.example"}, 403, "origin_not_allowed"),
        ("/ingest/boomerang/nope", b"pid=p1", FORM, 403, "unknown_app"),
        (path, b"{}", {**FORM, "content-type": "application/json"}, 415, "unsupported_media_type"),
        ("/ingest/nope/" + app, b"{}", FORM, 404, "unknown_ingest_path"),
    ]
    for where, body, sent, want, reason in bad:
        assert raw_request(live_server, "POST", where, body, sent) == (want, reason), reason
    metrics = live_server.request("GET", "/metrics")[2].decode()
    for *_, reason in bad:
        assert f'openrum_beacons_rejected_total{{reason="{reason}"}} 1' in metrics, reason
    assert json.loads(live_server.request("GET", "/healthz")[2])["status"] == "ok"


def test_faro_payloads_are_stored_and_bad_ones_counted(live_server: LiveServer) -> None:
    app = create_app(live_server)
    path = f"/ingest/faro/{app}"
    sent = {"content-type": "application/json", "origin": ORIGIN, "user-agent": UA_CHROME}
    for name in ("faro-load-start", "faro-navigation", "faro-lcp-error", "faro-hidden"):
        status, headers, _ = live_server.post(path, recorded(f"{name}.json"), sent, auth=False)
        assert status == 202
        assert headers["access-control-allow-origin"] == ORIGIN
    wait_for(
        live_server,
        {**everything(app), "metrics": ["count", "sessions"], "dimensions": ["action_type"]},
        [{"action_type": "load", "count": 1, "sessions": 1}],
        timeout=5,
    )
    # The load action is stored with the first payload; the vitals of the later ones replace it.
    vitals_query = {**everything(app), "metrics": ["lcp:max", "cls:max", "inp:max"]}
    waited = time.monotonic()
    while None in (vitals := live_server.query(vitals_query)["rows"][0]).values():
        assert time.monotonic() - waited < 5, vitals
        time.sleep(0.05)
    assert vitals["lcp:max"] == 620 and vitals["inp:max"] == 168
    assert abs(vitals["cls:max"] - 0.0349) < 0.001
    wait_for(
        live_server,
        {**everything(app), "metrics": ["errors"], "dimensions": ["error_type"]},
        [{"error_type": "js", "errors": 2}],
        timeout=5,
    )
    bad = [
        (b"{", 400, "malformed_json"),
        (b'{"events": []}', 400, "invalid_field"),
        (
            b'{"meta": {}, "exceptions": [{"type": "E", "value": "x", "timestamp": "now"}]}',
            400,
            "malformed_field",
        ),
    ]
    for body, want, reason in bad:
        assert raw_request(live_server, "POST", path, body, sent) == (want, reason), reason
    metrics = live_server.request("GET", "/metrics")[2].decode()
    for *_, reason in bad:
        assert f'openrum_beacons_rejected_total{{reason="{reason}"}} 1' in metrics, reason


def test_otlp_traces_and_logs_are_stored_and_bad_ones_counted(live_server: LiveServer) -> None:
    app = create_app(live_server)
    for suffix, media_type in (("json", "application/json"), ("pb", "application/x-protobuf")):
        sent = {"content-type": media_type, "origin": ORIGIN, "user-agent": UA_CHROME}
        for signal in ("traces", "logs-load", "logs-click"):
            path = f"/ingest/otlp/{app}/v1/{signal.split('-')[0]}"
            status, _, _ = live_server.post(
                path, recorded(f"otlp-{signal}.{suffix}"), sent, auth=False
            )
            assert status == 200
    wait_for(
        live_server,
        {**everything(app), "metrics": ["count", "sessions"], "dimensions": ["action_type"]},
        [
            {"action_type": "load", "count": 2, "sessions": 2},
            {"action_type": "xhr", "count": 2, "sessions": 2},
        ],
        timeout=5,
    )
    wait_for(
        live_server,
        {**everything(app), "metrics": ["errors"], "dimensions": ["error_type"]},
        [{"error_type": "js", "errors": 4}, {"error_type": "request", "errors": 2}],
        timeout=5,
    )
    path = f"/ingest/otlp/{app}/v1/traces"
    json_sent = {"content-type": "application/json", "origin": ORIGIN}
    bad = [
        (b"{", json_sent, 400, "malformed_json"),
        (
            b"\x0a\xff",
            {**json_sent, "content-type": "application/x-protobuf"},
            400,
            "malformed_protobuf",
        ),
        (b"{}", {**json_sent, "content-type": "text/plain"}, 415, "unsupported_media_type"),
    ]
    for body, headers, want, reason in bad:
        assert raw_request(live_server, "POST", path, body, headers) == (want, reason), reason
    metrics = live_server.request("GET", "/metrics")[2].decode()
    for *_, reason in bad:
        assert f'openrum_beacons_rejected_total{{reason="{reason}"}} 1' in metrics, reason
