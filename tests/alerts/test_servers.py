"""Two servers on one store (DuckDB file, chdb), each with its writer, collector and alert
scheduler running: beacons go to both, the rule is made through one, and each incident is
notified once — when it fires, and, after the evaluating server stops, when the other resolves
it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from tests.alerts.conftest import Receiver
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME
from tests.store.conftest import Opener

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"
BEACON = {"content-type": "text/plain", "origin": ORIGIN, "user-agent": UA_CHROME}
# A lease of some seconds: on a loaded machine the writer thread (idle priority) may not renew a
# shorter one in time, and a takeover in the middle of the test is not what it checks.
SETTINGS = Settings.load(
    {"alerts_interval_s": "0.3", "alerts_lateness_s": "0", "alerts_lease_s": "8"}, environ={}
)


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
