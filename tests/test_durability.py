"""Durability: kill -9 under load, again and again; every acknowledged beacon is stored once."""

from __future__ import annotations

import http.client
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from openrum.enrich import process
from tests.beacons import beacon, encode, load_action
from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.load
# Every load comes from 127.0.0.1: the per-address limit would make it a trickle.
UNLIMITED = {"OPENRUM_RATE_LIMIT_IP_PER_S": "0"}


def load(
    server: LiveServer, prefix: str, acked: list[str], attempted: list[str], stop: threading.Event
) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    n = 0
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        while not stop.is_set():
            sid = f"{prefix}-{n}"
            n += 1
            attempted.append(sid)
            try:
                conn.request(
                    "POST",
                    "/api/v1/beacon",
                    encode(beacon("shop", sid=sid)),
                    {"content-type": "text/plain"},
                )
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                return  # the server died under us: this beacon was never acknowledged
            if resp.status == 202:
                acked.append(sid)
    finally:
        conn.close()


def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, env=UNLIMITED)
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", "*")
    acked: list[str] = []
    attempted: list[str] = []
    rng = random.Random(7)
    began = time.monotonic()
    cycles = 0
    while cycles < 20 and time.monotonic() - began < 120:
        stop = threading.Event()
        threads = [
            threading.Thread(target=load, args=(server, f"c{cycles}t{t}", acked, attempted, stop))
            for t in range(3)
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 0.8))
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        stop.set()
        for t in threads:
            t.join(10)
        cycles += 1
        server = start_server(data, env=UNLIMITED)
    assert cycles == 20
    assert len(acked) > 200, "the load was too light to mean anything"
    # The last start replays the spool; wait until every acknowledged beacon is queryable.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = server.query({"app": "shop", "metrics": ["count"], "from": "2000-01-01T00:00:00Z"})[
            "rows"
        ]
        if rows and (rows[0]["count"] or 0) >= len(acked):
            break
        time.sleep(0.2)
    stop_server(server)
    con = duckdb.connect(str(data / "openrum.duckdb"), read_only=True)
    stored = dict(con.execute("SELECT session_id, count(*) FROM actions GROUP BY 1").fetchall())
    con.close()
    missing = [sid for sid in acked if sid not in stored]
    assert not missing, f"{len(missing)} acknowledged beacons lost, e.g. {missing[:5]}"
    assert all(n == 1 for n in stored.values()), "an event was stored twice"
    assert set(stored) <= set(attempted)


def test_sigterm_stops_accepting_stores_everything_and_exits(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, env=UNLIMITED)
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", "*")
    acked: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=load, args=(server, f"t{t}", acked, [], stop)) for t in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(1.0)
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it.
    assert server.process.wait(30) in (0, -signal.SIGTERM)
    took = time.monotonic() - began
    stop.set()
    for t in threads:
        t.join(10)
    assert took < 25, f"shutdown took {took:.1f} s"
    assert not list((data / "spool").glob("*.seg")), "spool left behind"
    con = duckdb.connect(str(data / "openrum.duckdb"), read_only=True)
    stored = {r[0] for r in con.execute("SELECT session_id FROM actions").fetchall()}
    con.close()
    assert len(acked) > 50
    assert set(acked) <= stored


def test_store_unavailable_spool_absorbs_then_503_and_nothing_acknowledged_is_lost(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    spool_max = 400_000
    server = start_server(data, "--setting", "spool_max_bytes", str(spool_max), env=UNLIMITED)
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", "*")
    record = len(encode(beacon("shop", sid="x" * 12))) + 120  # body + stamp + framing
    os.kill(server.process.pid, signal.SIGUSR1)  # writes paused: the store is unavailable
    time.sleep(0.5)
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    acked: list[str] = []
    statuses: list[int] = []
    for n in range(spool_max // record * 2):
        sid = f"p-{n}"
        conn.request(
            "POST",
            "/api/v1/beacon",
            encode(beacon("shop", sid=sid)),
            {"content-type": "text/plain"},
        )
        resp = conn.getresponse()
        resp.read()
        statuses.append(resp.status)
        if resp.status == 202:
            acked.append(sid)
        else:
            assert resp.status == 503 and resp.getheader("x-openrum-reason") == "spool_full"
            assert resp.getheader("retry-after") == "1"
    conn.close()
    first_503 = statuses.index(503)
    assert first_503 >= 0.8 * spool_max / record, "503 before the spool was full"
    assert all(s == 503 for s in statuses[first_503:]), "accepted again while still full"
    os.kill(server.process.pid, signal.SIGUSR2)  # the store is back
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = server.query({"app": "shop", "metrics": ["count"], "from": "2000-01-01T00:00:00Z"})[
            "rows"
        ]
        if rows and rows[0]["count"] == len(acked):
            break
        time.sleep(0.2)
    stop_server(server)
    con = duckdb.connect(str(data / "openrum.duckdb"), read_only=True)
    stored = {r[0] for r in con.execute("SELECT session_id FROM actions").fetchall()}
    con.close()
    assert stored == set(acked)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the batch step, the spool's fsync helper)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its parent, a test, has not reaped it)


def metric(server: LiveServer, name: str) -> float:
    status, _, raw = server.request("GET", "/metrics")
    assert status == 200
    [value] = [line.split()[1] for line in raw.decode().splitlines() if line.split()[:1] == [name]]
    return float(value)


def post_many(server: LiveServer, n: int, events: int = 1) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    for i in range(n):
        body = encode(
            beacon("shop", sid=f"b-{i}", events=[load_action(f"a{j}") for j in range(events)])
        )
        conn.request("POST", "/api/v1/beacon", body, {"content-type": "text/plain"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 202
    conn.close()


def test_queue_depth_counts_the_replayed_backlog_after_kill_9(tmp_path: Path) -> None:
    """Issue #20: after a restart ``openrum_queue_depth`` counted only what the new process
    accepted (0 while the spool held 131 MB to replay)."""
    data = tmp_path / "data"
    server = start_server(data, env=UNLIMITED)
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", "*")
    os.kill(server.process.pid, signal.SIGUSR1)  # writes paused: a backlog builds up
    time.sleep(0.5)
    post_many(server, 300)
    assert metric(server, "openrum_queue_depth") == 300
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    server = start_server(data, "--setting", "start_paused", "true", env=UNLIMITED)
    try:
        assert metric(server, "openrum_queue_depth") == 300  # replayed on resume
        assert metric(server, "openrum_spool_bytes") > 0
        post_many(server, 20)
        assert metric(server, "openrum_queue_depth") == 320
        os.kill(server.process.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while metric(server, "openrum_queue_depth") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metric(server, "openrum_queue_depth") == 0
        body = {"app": "shop", "metrics": ["sessions"], "from": "2000-01-01T00:00:00Z"}
        assert server.query(body)["rows"] == [{"sessions": 300}]  # b-0 … b-299, twice
    finally:
        stop_server(server)


def test_crash_leftovers_in_shared_memory_are_removed_at_the_next_start(tmp_path: Path) -> None:
    """Issue #20: after each ``kill -9`` files stayed in /dev/shm (140 MB after 13 crashes): an
    orphaned batch step went on and wrote its answer under PID 1, and a start removed only its
    own PID's files. The batch step now dies with the server, and a start removes every leftover
    of its data directory — not another running server's."""
    data = tmp_path / "data"
    prefix = process._shared_prefix(process.data_tag(data / "spool"))
    server = start_server(data, env=UNLIMITED)
    server.cli("apps", "create", "Shop", "--id", "shop", "--origin", "*")
    # The batch step busy with a backlog when the server dies.
    os.kill(server.process.pid, signal.SIGUSR1)
    time.sleep(0.5)
    post_many(server, 1500, events=25)
    kids = children(server.process.pid)
    assert len(kids) >= 2  # the batch step, the spool's fsync helper (multiprocessing's tracker)
    os.kill(server.process.pid, signal.SIGUSR2)
    time.sleep(0.5)  # the batch step reads and enriches the first 50,000 events
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 2
    while any(running(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(running(k) for k in kids), "a child outlived its server"
    # What a crash in the middle of an answer leaves: a dead server's file; and a file of another
    # server running on this data directory (this test process stands for it).
    finished = subprocess.Popen(["true"])
    finished.wait()
    left = process.SHARED / f"{prefix}{finished.pid}-crash"
    other = process.SHARED / f"{prefix}{os.getpid()}-running"
    left.write_bytes(b"x" * 1000)
    other.write_bytes(b"x")
    # Again, killing the server and its children together.
    server = start_server(data, env=UNLIMITED)
    try:
        assert not left.exists()
        assert other.exists()
        for pid in [server.process.pid, *children(server.process.pid)]:
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
        server = start_server(data, env=UNLIMITED)
        assert set(process.SHARED.glob(prefix + "*")) == {other}
    finally:
        other.unlink()
        stop_server(server)
    assert list(process.SHARED.glob(prefix + "*")) == []
