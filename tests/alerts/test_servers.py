"""Two servers on one store, each with its writer, collector and alert scheduler running: beacons
go to both, the rule is made through one, and each incident is notified once — when it fires, and,
after the evaluating server stops, when the other resolves it. In one process on every engine
(DuckDB file, chdb, clickhouse://), and as two `openrum serve` processes sharing one ClickHouse
store through clickhouse:// (issue #21 §5: several collectors, one evaluating alerts)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrum.server import Server
from openrum.settings import Settings
from openrum.store import open_store
from openrum.store.base import App
from tests.alerts.conftest import Receiver
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server
from tests.store.conftest import BACKENDS, Opener, recycle, url_for

ORIGIN = "https://shop.example"
BEACON = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME}
# A lease of some seconds: on a loaded machine the writer thread (idle priority) may not renew a
# shorter one in time, and a takeover in the middle of the test is not what it checks.
SETTINGS = Settings.load(
    {"alerts_interval_s": "0.3", "alerts_lateness_s": "0", "alerts_lease_s": "8"}, environ={}
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def servers(opener: Opener, tmp_path: Path) -> AsyncIterator[list[Server]]:
    first = opener()
    first.create_app(App(id="shop", name="Shop", origins=[ORIGIN], created=0))
    out = [Server(first, SETTINGS, tmp_path / "a"), Server(opener(), SETTINGS, tmp_path / "b")]
    for s in out:
        s.writer.start()
        s.alerts.start()
    yield out
    for s in out:
        s.alerts.stop()
        s.writer.stop()


async def call(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rum") as client:
        r = await client.request(
            method, path, json=body, headers={"authorization": f"Bearer {server.admin_key}"}
        )
    return r.status_code, r.json() if r.content else None


async def beacons(server: Server, n: int) -> None:
    transport = httpx.ASGITransport(app=server.app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rum") as client:
        for i in range(n):
            slow = load_action(
                f"a{i}", now_ms() - 3000, vitals={"lcp": {"id": f"l{i}", "value": 6000}}
            )
            r = await client.post(
                "/api/v1/beacon", content=encode(beacon("shop", [slow])), headers=BEACON
            )
            assert r.status_code == 202


def until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def events(receiver: Receiver) -> list[tuple[str, str]]:
    return [(r["headers"]["x-openrum-event"], json.loads(r["body"])["incident"]["id"])
            for r in receiver.requests()]  # fmt: skip


@pytest.mark.anyio
async def test_two_servers_on_one_store_notify_each_incident_once(
    servers: list[Server], receiver: Receiver
) -> None:
    a, b = servers
    status, channel = await call(
        a,
        "POST",
        "/api/v1/alerts/channels",
        {"name": "ops", "kind": "webhook", "url": receiver.url},
    )
    assert status == 201
    rule = {"app": "shop", "name": "slow LCP", "metric": "lcp:p75", "window": "5m",
            "condition": {"op": "above", "threshold": 2500}, "min_sample": 4,
            "channels": [channel["id"]]}  # fmt: skip
    status, created = await call(a, "POST", "/api/v1/alerts/rules", rule)
    assert status == 201
    await beacons(a, 2)
    await beacons(b, 2)
    until(lambda: len(receiver.requests()) >= 1, timeout=60)
    time.sleep(2)  # more evaluations, on both servers
    [(event, incident)] = events(receiver)
    assert event == "firing"
    assert [s.alerts.leader for s in servers].count(True) == 1

    # The evaluating server stops; the other takes the lease once it lapses, and resolves the
    # incident (the rule changed through it) with one notification.
    leader, other = (a, b) if a.alerts.leader else (b, a)
    leader.alerts.stop()
    status, _ = await call(
        other,
        "PUT",
        f"/api/v1/alerts/rules/{created['id']}",
        {**rule, "condition": {"op": "above", "threshold": 100_000}},
    )
    assert status == 200
    until(lambda: len(receiver.requests()) >= 2, timeout=60)
    time.sleep(1)
    assert events(receiver) == [("firing", incident), ("resolved", incident)]
    assert other.alerts.leader
    status, listed = await call(leader, "GET", "/api/v1/incidents")
    assert [(i["id"], i["state"]) for i in listed["incidents"]] == [(incident, "resolved")]


# -- two `openrum serve` processes on one ClickHouse store -----------------------------------------
ENV = {"OPENRUM_ALERTS_INTERVAL_S": "0.3", "OPENRUM_ALERTS_LATENESS_S": "0",
       "OPENRUM_ALERTS_LEASE_S": "8"}  # fmt: skip


@pytest.fixture
def shared_store(chdb_path: Path, tmp_path: Path) -> Iterator[str]:
    """A ClickHouse store over HTTP (the front, or OPENRUM_CLICKHOUSE_URL) with the shop app."""
    url, database = url_for("clickhouse", chdb_path, tmp_path)
    store = open_store(url)
    store.create_app(App(id="shop", name="Shop", origins=[ORIGIN], created=0))
    store.close()
    yield url
    recycle("clickhouse", database, chdb_path)


def holder(url: str) -> str | None:
    """Who holds the alerts lease (a scheduler's random id), read from the store."""
    store = open_store(url)
    try:
        _, rows = store.select("SELECT holder FROM leases WHERE name = 'alerts'", [])
        return str(rows[0][0]) if rows else None
    finally:
        store.close()


def post_json(server: LiveServer, path: str, body: Any, method: str = "POST") -> Any:
    status, _, raw = server.request(
        method, path, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    assert status in (200, 201), raw
    return json.loads(raw)


def send_beacons(server: LiveServer, n: int) -> None:
    for i in range(n):
        slow = load_action(f"a{i}", now_ms() - 3000, vitals={"lcp": {"id": f"l{i}", "value": 6000}})
        status, _, raw = server.post(
            "/api/v1/beacon", encode(beacon("shop", [slow])), BEACON, False
        )
        assert status == 202, raw


def test_two_serve_processes_on_one_clickhouse_store_notify_each_incident_once(
    shared_store: str, receiver: Receiver, tmp_path: Path
) -> None:
    a = start_server(tmp_path / "a", "--store", shared_store, env=ENV, timeout=120)
    b: LiveServer | None = None
    try:
        # The first server takes the lease before the second starts: the first evaluates.
        until(lambda: holder(shared_store) is not None)
        first = holder(shared_store)
        b = start_server(tmp_path / "b", "--store", shared_store, env=ENV, timeout=120)
        channel = post_json(a, "/api/v1/alerts/channels",
                            {"name": "ops", "kind": "webhook", "url": receiver.url})  # fmt: skip
        rule = {"app": "shop", "name": "slow LCP", "metric": "lcp:p75", "window": "5m",
                "condition": {"op": "above", "threshold": 2500}, "min_sample": 4,
                "channels": [channel["id"]]}  # fmt: skip
        created = post_json(a, "/api/v1/alerts/rules", rule)
        send_beacons(a, 2)
        send_beacons(b, 2)
        until(lambda: len(receiver.requests()) >= 1, timeout=90)
        time.sleep(3)  # more evaluations, by both processes
        [(event, incident)] = events(receiver)
        assert event == "firing"

        # The evaluating process stops (on a loaded machine the lease may have changed hands
        # already: the holder now is the one to stop); the other takes the lease once it lapses
        # and resolves the incident (the rule changed through it) with one notification.
        leader_id = holder(shared_store)
        leader, other = (a, b) if leader_id == first else (b, a)
        stop_server(leader)
        post_json(other, f"/api/v1/alerts/rules/{created['id']}",
                  {**rule, "condition": {"op": "above", "threshold": 100_000}}, "PUT")  # fmt: skip
        until(lambda: len(receiver.requests()) >= 2, timeout=90)
        time.sleep(2)
        assert events(receiver) == [("firing", incident), ("resolved", incident)]
        assert holder(shared_store) not in (None, leader_id)
        status, _, raw = other.request("GET", "/api/v1/incidents")
        assert status == 200
        listed = json.loads(raw)["incidents"]
        assert [(i["id"], i["state"]) for i in listed] == [(incident, "resolved")]
    finally:
        for server in (a, b):
            if server is not None and server.process.poll() is None:
                stop_server(server)
