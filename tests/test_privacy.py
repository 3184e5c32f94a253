"""Privacy controls: erasure and export by user tag or session, retention, the audit log."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrum import privacy
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME, LiveServer


def visit(sid: str, tag: str | None, start: int) -> Raw:
    events: list[dict[str, Any]] = [
        load_action("a1", start=start),
        {"kind": "error", "id": "e1", "type": "js", "time": start + 10, "message": "boom"},
    ]
    if tag:
        events.append(
            {"kind": "user", "id": "t", "type": "user_tag", "time": start + 20, "value": tag}
        )
    body = beacon("shop", sid=sid, events=events, sent=start + 1000)
    return Raw(encode(body), len(events), start + 1000, "198.51.100.1", UA_CHROME)


@pytest.fixture
def filled(store: DuckDBStore, settings: Settings) -> DuckDBStore:
    store.create_app(
        App(
            id="shop",
            name="Shop",
            origins=[],
            created=0,
            config={"retention_days": {"events": 1, "sessions": 2}},
        )
    )
    t = now_ms() - 60_000
    store.write(
        Pipeline(settings).run(
            [
                visit("s1", "alice", t),
                visit("s2", "alice", t),
                visit("s3", "bob", t),
                visit("s4", None, t),
            ]
        )
    )
    return store


def counts(store: DuckDBStore) -> dict[str, list[str]]:
    out = {}
    for table in ("actions", "errors", "user_events", "sessions"):
        _, rows = store.select(f"SELECT DISTINCT session_id FROM {table} ORDER BY 1", [])
        out[table] = [r[0] for r in rows]
    return out


def test_erase_a_user_tag_everywhere_and_audit_it(filled: DuckDBStore) -> None:
    deleted = privacy.erase(filled, "shop", None, "alice", "tester")
    assert deleted == {
        "actions": 2,
        "errors": 2,
        "user_events": 2,
        "diagnostics": 0,
        "sessions": 2,
    }
    assert counts(filled) == {
        "actions": ["s3", "s4"],
        "errors": ["s3", "s4"],
        "user_events": ["s3"],
        "sessions": ["s3", "s4"],
    }
    _, rows = filled.select("SELECT actor, action, app, detail FROM audit_log", [])
    assert rows[-1][:3] == ("tester", "erase", "shop")
    assert json.loads(rows[-1][3])["user_tag"] == "alice"


def test_erase_one_session(filled: DuckDBStore) -> None:
    privacy.erase(filled, "shop", "s4", None, "tester")
    assert "s4" not in counts(filled)["actions"]
    with pytest.raises(ValueError, match="exactly one"):
        privacy.erase(filled, "shop", "s4", "alice", "tester")


def test_export_everything_for_a_user_tag(filled: DuckDBStore) -> None:
    out = privacy.export(filled, "shop", None, "bob", "tester")
    assert out["sessions"] == ["s3"]
    assert {t: len(rows) for t, rows in out["data"].items()} == {
        "actions": 1,
        "errors": 1,
        "user_events": 1,
        "diagnostics": 0,
        "sessions": 1,
    }
    assert out["data"]["errors"][0]["message"] == "boom"


def test_retention_deletes_only_what_is_older(store: DuckDBStore, settings: Settings) -> None:
    store.create_app(
        App(
            id="shop",
            name="Shop",
            origins=[],
            created=0,
            config={"retention_days": {"events": 1, "sessions": 3}},
        )
    )
    day = privacy.DAY_MS
    now = now_ms()
    # Received (and so timed) two days ago: too old for events, young enough for sessions.
    store.write(
        Pipeline(settings).run(
            [visit("old", None, now - 2 * day), visit("new", None, now - 60_000)]
        )
    )
    deleted = privacy.expire_all(store, settings, now)
    assert deleted == {
        "actions": 1,
        "errors": 1,
        "user_events": 0,
        "sessions": 0,
        "diagnostics": 0,
        "check_results": 0,
    }
    assert counts(store)["actions"] == ["new"]
    assert counts(store)["sessions"] == ["new", "old"]
    assert privacy.expire_all(store, settings, now + 2 * day)["sessions"] == 1


@pytest.fixture
async def api(filled: DuckDBStore, tmp_path: Path) -> AsyncIterator[tuple[Server, Any]]:
    server = Server(filled, Settings.load({}, environ={}), tmp_path)
    server.writer.start()
    transport = httpx.ASGITransport(app=server.app)
    headers = {"authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield server, c
    server.writer.stop()


@pytest.mark.anyio
async def test_erase_and_export_through_the_api(api: tuple[Server, Any]) -> None:
    _, c = api
    r = await c.get("/api/v1/export", params={"app": "shop", "user_tag": "alice"})
    assert r.status_code == 200 and r.json()["sessions"] == ["s1", "s2"]
    assert "attachment" in r.headers["content-disposition"]
    r = await c.post("/api/v1/erase", json={"app": "shop", "user_tag": "alice"})
    assert r.status_code == 200 and r.json()["deleted"]["sessions"] == 2
    r = await c.post("/api/v1/erase", json={"app": "shop"})
    assert r.status_code == 400 and "exactly one" in r.json()["error"]


def test_masking_keeps_urls_and_positions_through_a_real_server(live_server: LiveServer) -> None:
    """Issue #20: ``http://127.0.0.1:18201/widget.js:3:14`` was stored and exported as
    ``http://<ip>:<id>/…``. The server's own address, its port and the frame's position are
    kept; the ids, the email and the client's own address (127.0.0.1 here) are masked."""
    out = json.loads(
        live_server.cli("apps", "create", "Shop", "--origin", "https://shop.example", "--json")
    )
    t = now_ms() - 5000
    stack = (
        "TypeError: price is undefined\n"
        "    at load (http://127.0.0.1:18201/widget.js:3:14)\n"
        "    at http://127.0.0.1:18201/u/7654321/app.js?mail=jane@example.com:120:9"
    )
    error = {
        "kind": "error", "id": "e1", "type": "js", "time": t + 10,
        "message": "no cart for jane@example.com from 127.0.0.1 at http://127.0.0.1:18201/cart",
        "stack": stack, "source": "http://127.0.0.1:18201/widget.js", "line": 3, "col": 14,
    }  # fmt: skip
    body = beacon(out["id"], sid="s-mask", events=[load_action(start=t), error])
    headers = {"content-type": "text/plain", "origin": "https://shop.example"}
    status, _, _ = live_server.post(
        "/api/v1/beacon", encode(body), {**headers, "user-agent": UA_CHROME}
    )
    assert status == 202
    deadline = time.monotonic() + 10
    while True:
        status, _, raw = live_server.request(
            "GET", f"/api/v1/export?app={out['id']}&session_id=s-mask"
        )
        assert status == 200, raw
        errors = json.loads(raw)["data"]["errors"]
        if errors or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(errors) == 1
    assert errors[0]["stack"] == (
        "TypeError: price is undefined\n"
        "    at load (http://127.0.0.1:18201/widget.js:3:14)\n"
        "    at http://127.0.0.1:18201/u/<id>/app.js?mail=<email>:120:9"
    )
    assert errors[0]["message"] == "no cart for <email> from <ip> at http://127.0.0.1:18201/cart"
    assert errors[0]["source"] == "http://127.0.0.1:18201/widget.js"
