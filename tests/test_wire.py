"""A real `openrum serve` process on 127.0.0.1: CLI, beacons over HTTP, the query API, and a
hostile-input run in which every bad request gets its 4xx and every valid beacon is stored."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.beacons import beacon, encode, now_ms
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

ORIGIN = "https://shop.example"
HEADERS = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME}


def create_app(server: LiveServer) -> str:
    out = json.loads(server.cli("apps", "create", "Shop", "--origin", ORIGIN, "--json"))
    assert out["origins"] == [ORIGIN]
    assert f'data-app="{out["id"]}"' in out["snippet"]
    return str(out["id"])


def wait_for(server: LiveServer, body: dict[str, Any], expect: Any, timeout: float = 2.0) -> float:
    began = time.monotonic()
    while True:
        rows = server.query(body)["rows"]
        if rows == expect:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, rows
        time.sleep(0.05)


def test_a_beacon_is_queryable_within_two_seconds(live_server: LiveServer) -> None:
    app = create_app(live_server)
    listed = json.loads(live_server.cli("apps", "list", "--json"))
    assert [a["id"] for a in listed] == [app]
    status, headers, _ = live_server.post("/api/v1/beacon", encode(beacon(app)), HEADERS)
    assert status == 202
    assert headers["access-control-allow-origin"] == ORIGIN
    waited = wait_for(
        live_server,
        {"app": app, "metrics": ["count", "lcp:p75"], "dimensions": ["browser", "page"]},
        [{"browser": "Chrome", "page": "/products/***", "count": 1, "lcp:p75": 1500.0}],
    )
    assert waited < 2.0


def raw_request(
    server: LiveServer, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, resp.headers.get("x-openrum-reason", "")


def hostile(app: str) -> list[tuple[str, bytes, dict[str, str], int, str]]:
    good = beacon(app)
    text = encode(good)
    return [
        ("malformed JSON", b'{"v":1,', HEADERS, 400, "malformed_json"),
        ("wrong types", encode({**good, "events": "many"}), HEADERS, 400, "invalid_field"),
        ("oversized body", b"[" + b" " * 70_000 + b"]", HEADERS, 413, "body_too_large"),
        (
            "too many events",
            encode(
                beacon(
                    app,
                    events=[
                        {"kind": "user", "id": str(i), "type": "page_change", "time": now_ms()}
                        for i in range(201)
                    ],
                )
            ),
            HEADERS,
            400,
            "too_many_events",
        ),
        ("NaN", text.replace(b"1800.0", b"NaN"), HEADERS, 400, "malformed_json"),
        ("Infinity", text.replace(b"1800.0", b"-Infinity"), HEADERS, 400, "malformed_json"),
        (
            "integer past 2^64",
            text.replace(b'"seq": 1', b'"seq": 18446744073709551617'),
            HEADERS,
            400,
            "invalid_field",
        ),
        ("invalid UTF-8", text.replace(b"1.0.0", b"1.\xff\xfe"), HEADERS, 400, "invalid_utf8"),
        (
            "deep nesting",
            b'{"v":1,"z":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
            HEADERS,
            400,
            "too_deep",
        ),
        ("unknown app", encode(beacon("no-such-app")), HEADERS, 403, "unknown_app"),
        (
            "disallowed origin",
            text,
            {**HEADERS, "origin": "https://evil.example"},
            403,
            "origin_not_allowed",
        ),
        (
            "wrong content type",
            text,
            {**HEADERS, "content-type": "multipart/form-data"},
            415,
            "unsupported_media_type",
        ),
    ]


def test_hostile_input_gets_4xx_and_valid_beacons_in_between_are_stored(
    live_server: LiveServer,
) -> None:
    app = create_app(live_server)
    cases = hostile(app)
    for name, body, headers, status, reason in cases:
        got = raw_request(live_server, "POST", "/api/v1/beacon", body, headers)
        assert got == (status, reason), name
        ok = raw_request(live_server, "POST", "/api/v1/beacon", encode(beacon(app)), HEADERS)
        assert ok == (202, ""), f"valid beacon after {name}"
    status, _, raw = live_server.request("GET", "/metrics")
    assert status == 200
    metrics = raw.decode()
    for _, _, _, _, reason in cases:
        assert f'openrum_beacons_rejected_total{{reason="{reason}"}}' in metrics
    wait_for(
        live_server,
        {"app": app, "metrics": ["count", "sessions"]},
        [{"count": len(cases), "sessions": len(cases)}],
    )
    assert live_server.process.poll() is None  # still up


def test_bad_queries_are_400_with_the_valid_names(live_server: LiveServer) -> None:
    app = create_app(live_server)
    status, _, raw = live_server.post(
        "/api/v1/query",
        b'{"app": "%s", "metrics": ["x"]}' % app.encode(),
        {"content-type": "application/json"},
    )
    assert status == 400
    assert "valid: count, page_views" in json.loads(raw)["error"]
    status, _, raw = live_server.post("/api/v1/query", b"{", {})
    assert status == 400 and "malformed JSON" in json.loads(raw)["error"]
    status, _, raw = live_server.post("/api/v1/query", b'{"app": "nope", "metrics": ["count"]}', {})
    assert status == 404


def snippets(server: LiveServer, host: str) -> list[str]:
    """The snippets the API gives a request whose Host header is ``host``: creating, listing
    and changing an application (the settings page shows the last two)."""
    forged = {"host": host, "content-type": "application/json"}
    status, _, raw = server.post("/api/v1/apps", b'{"name": "Shop", "origins": []}', forged)
    assert status == 201, raw
    created = json.loads(raw)
    status, _, raw = server.request("GET", "/api/v1/apps", headers=forged)
    assert status == 200, raw
    listed = [a["snippet"] for a in json.loads(raw)["apps"]]
    status, _, raw = server.request(
        "PATCH", f"/api/v1/apps/{created['id']}", b'{"config": {"optin": true}}', forged
    )
    assert status == 200, raw
    return [created["snippet"], *listed, json.loads(raw)["snippet"]]


def test_snippets_never_point_at_the_host_header(tmp_path: Path) -> None:
    """Issue #20: a request with ``Host: evil.example`` got a snippet sending beacons there.
    Snippets point at ``public_url``, else at the address the server listens on."""
    server = start_server(tmp_path / "a")
    try:
        for got in snippets(server, "evil.example"):
            assert f'src="{server.url}/openrum.js"' in got
            assert f'data-endpoint="{server.url}/api/v1/beacon"' in got
            assert "evil" not in got
    finally:
        stop_server(server)
    server = start_server(tmp_path / "b", "--public-url", "https://rum.shop.example/")
    try:
        for got in snippets(server, "evil.example"):
            assert 'src="https://rum.shop.example/openrum.js"' in got
            assert 'data-endpoint="https://rum.shop.example/api/v1/beacon"' in got
        # The CLI asks the running server, which answers with its public URL.
        out = json.loads(server.cli("apps", "create", "Blog", "--json"))
        assert 'src="https://rum.shop.example/openrum.js"' in out["snippet"]
    finally:
        stop_server(server)


def test_apps_create_without_a_server_uses_public_url(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "openrum", "apps", "create", "Shop", "--json"]
    data = ["--data", str(tmp_path / "data")]
    out = subprocess.run(
        [*run, "--public-url", "https://rum.shop.example", *data],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert 'src="https://rum.shop.example/openrum.js"' in json.loads(out.stdout)["snippet"]
    # Without it, the default address of `openrum serve` — and a warning that says so.
    out = subprocess.run([*run, *data], check=True, capture_output=True, timeout=60)
    assert 'src="http://127.0.0.1:8080/openrum.js"' in json.loads(out.stdout)["snippet"]
    assert b"--public-url" in out.stderr
    bad = subprocess.run([*run, "--public-url", "rum.shop.example", *data], capture_output=True)
    assert bad.returncode == 2 and b"public_url must be an http(s) URL" in bad.stderr
