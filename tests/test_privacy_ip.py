"""Privacy: after a realistic ingest through a trusted proxy, no full client address is anywhere —
not in the data directory (store, spool), not in the server's log, not in any API response."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import duckdb

from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

ORIGIN = "https://shop.example"
FULL4 = "198.51.100.77"
FULL6 = "2001:db8:abcd:12:3456:789a:bcde:f012"
SECRETS = (FULL4, FULL6, FULL6.upper(), "2001:0db8:abcd:0012")


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"full client address {secret} in {where}"


def _ingest(server: LiveServer, app: str) -> list[str]:
    sids = []
    t = now_ms() - 60_000
    for i in range(20):
        sid = f"s{i}"
        sids.append(sid)
        events = [
            load_action("a1", start=t, url=f"https://shop.example/p?ip={FULL4}#{FULL6}"),
            {"kind": "error", "id": "e1", "type": "js", "time": t + 5,
             "message": f"fetch from {FULL4} / {FULL6} failed", "action": "a1"},
            {"kind": "action", "id": "x1", "type": "xhr", "start": t + 100, "duration": 300.0,
             "url": f"https://shop.example/u/{FULL4}", "name": f"click on {FULL6}"},
        ]  # fmt: skip
        body = beacon(app, sid=sid, events=events, sent=t + 1000)
        # Half through X-Forwarded-For (with a trusted hop), half through RFC 7239 Forwarded.
        via = (
            {"x-forwarded-for": f"{FULL4}, 127.0.0.1"}
            if i % 2 == 0
            else {"forwarded": f'for="[{FULL6}]:443";proto=https'}
        )
        headers = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME, **via}
        status, _, _ = server.post("/api/v1/beacon", encode(body), headers, auth=False)
        assert status == 202
    return sids


def test_no_full_client_address_is_kept_anywhere(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(
        data,
        "--setting", "trusted_proxies", "127.0.0.1",
        "--setting", "geo_networks", "198.51.100.0/24=DE|Bavaria|Munich|48.14|11.58",
    )  # fmt: skip
    try:
        out = json.loads(server.cli("apps", "create", "Shop", "--origin", ORIGIN, "--json"))
        app = str(out["id"])
        sids = _ingest(server, app)
        deadline = time.monotonic() + 10
        q = {"app": app, "metrics": ["count", "sessions"], "dimensions": ["country"]}
        while True:
            rows = server.query(q)["rows"]
            if sum(r["count"] for r in rows) == 40:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        responses = [json.dumps(rows)]
        # The proxy's header was used (masked first, then located): not the proxy's address.
        assert {r["country"]: r["sessions"] for r in rows}.get("DE") == 10
        for body in (
            {"app": app, "metrics": ["count"], "dimensions": ["page", "action_name", "city"]},
            {"app": app, "metrics": ["errors"], "dimensions": ["message"]},
        ):
            responses.append(json.dumps(server.query(body)))
        for path in (
            f"/api/v1/sessions?app={app}",
            f"/api/v1/sessions/{sids[0]}?app={app}",
            f"/api/v1/sessions/{sids[1]}?app={app}",
            f"/api/v1/export?app={app}&session_id={sids[0]}",
            f"/api/v1/errors?app={app}",
            "/metrics",
        ):
            status, _, raw = server.request("GET", path)
            assert status == 200, (path, raw)
            responses.append(raw.decode())
        for i, text in enumerate(responses):
            _assert_clean(urllib.parse.unquote(text), f"API response {i}")
    finally:
        stop_server(server)
    _assert_clean(server.log.read_text(errors="replace"), "the server log")
    for path in data.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in raw, f"{secret} in {path}"
    # Compressed columns would hide a string from a byte search: read every table as text.
    con = duckdb.connect(str(data / "openrum.duckdb"), read_only=True)
    tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
    assert {"actions", "errors", "sessions", "user_events"} <= set(tables)
    for table in tables:
        rows = con.execute(f"SELECT * FROM {table}").fetchall()
        _assert_clean(repr(rows), f"table {table}")
    con.close()
