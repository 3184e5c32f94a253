"""bench/ingest_clickhouse: 1, 2 and 4 `openrum serve` processes on one ClickHouse store.

Run: ``.venv/bin/python -m bench.ingest_clickhouse [--processes 1 2 4] [--seconds 10]
[--connections 4]``. Needs Debian's `wrk`. For each count, a fresh database on the ClickHouse
server (``OPENRUM_CLICKHOUSE_URL``, ``clickhouse://user:pass@host:8123/db``) or, without one, on the
HTTP front over chdb in tests/clickhouse_front.py; that many `openrum serve --store clickhouse://…`
processes, each loaded by its own wrk (unique beacons of 5 events, bench/ingest/beacon.lua) for
``--seconds``; then the wait until every spool is drained. It reports beacons accepted per second
during the load, events stored per second from the start of the load to the end of the drain, and
checks that every accepted event is in the store exactly once (rows counted with ``FINAL``).

Through the front, ClickHouse is one engine connection in one Python process running one statement
at a time, on the same cores as the collectors and wrk: the curve measures the collectors' path
(spool, batch step, re-send check, Arrow inserts over HTTP) against that ceiling, not a server's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness import EVENTS_PER_BEACON, metrics, start, stop, wrk
from bench.report import machine, write_section
from openrum.store import open_store
from openrum.store.base import App
from tests.conftest import free_port

TABLES = ("actions", "errors", "user_events")


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def drained(urls: list[str], timeout: float = 600) -> float:
    """Wait until every server's queue is empty; the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if all(metrics(u)["openrum_queue_depth"] == 0 for u in urls):
            time.sleep(1.5)  # the batch in flight
            if all(metrics(u)["openrum_queue_depth"] == 0 for u in urls):
                break
        time.sleep(0.2)
    return time.monotonic() - began


def run(server: str, n: int, seconds: int, connections: int, work: Path) -> dict[str, float]:
    from openrum.store.transport import HttpTransport

    database = f"bench_ingest_{n}_{os.getpid()}"
    admin = HttpTransport(with_database(server, "default"))
    admin.command(f"DROP DATABASE IF EXISTS `{database}`")
    admin.command(f"CREATE DATABASE `{database}`")
    url = with_database(server, database)
    store = open_store(url)  # migrated before the collectors start
    store.create_app(App(id="bench", name="Bench", origins=["*"], created=0))
    procs = []
    urls = []
    try:
        for i in range(n):
            port = free_port()
            data = work / f"n{n}-{i}"
            cmd = [sys.executable, "-m", "openrum", "serve", "--port", str(port), "--data",
                   str(data), "--store", url, "--setting", "rate_limit_ip_per_s", "0",
                   "--setting", "metrics_public", "true"]  # fmt: skip
            procs.append(start(cmd, port, work / f"n{n}-{i}.log", pin=False))
            urls.append(f"http://127.0.0.1:{port}")
        before = [metrics(u) for u in urls]
        began = time.monotonic()
        loads = [wrk(u, seconds, connections, f"n{n}s{i}") for i, u in enumerate(urls)]
        for load in loads:
            load.communicate(timeout=seconds + 120)
        loaded = time.monotonic() - began
        drain = drained(urls)
        after = [metrics(u) for u in urls]
    finally:
        for p in procs:
            stop(p)

    def delta(name: str) -> float:
        return sum(a.get(name, 0) - b.get(name, 0) for a, b in zip(after, before, strict=True))

    def stored(m: dict[str, float]) -> float:
        return sum(v for k, v in m.items() if k.startswith("openrum_events_stored_total"))

    rows = sum(int(store.select(f"SELECT count() FROM {t}", [])[1][0][0]) for t in TABLES)
    # Reads run with FINAL (a re-sent event counts once); without it, a second copy not yet
    # merged away would show.
    raw = sum(
        int(store.select(f"SELECT count() FROM {t} SETTINGS final = 0", [])[1][0][0])
        for t in TABLES
    )
    store.close()
    admin.command(f"DROP DATABASE IF EXISTS `{database}`")
    admin.close()
    return {
        "processes": n,
        "beacons_per_s": delta("openrum_beacons_accepted_total") / loaded,
        "accepted_events": delta("openrum_events_accepted_total"),
        "stored_events": sum(stored(a) - stored(b) for a, b in zip(after, before, strict=True)),
        "rows": rows,
        "duplicates": raw - rows,
        "stored_per_s": rows / (loaded + drain),
        "drain_s": drain,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4, help="wrk connections per server")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    server = os.environ.get("OPENRUM_CLICKHOUSE_URL")
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-clickhouse-"))
    front = None
    if not server:
        from tests import clickhouse_front

        front = clickhouse_front.start(str(work / "front"))
        server = front.url
    results = []
    load_before = os.getloadavg()[1]
    try:
        for n in args.processes:
            r = run(server, n, args.seconds, args.connections, work)
            results.append(r)
            print(r, flush=True)
    finally:
        if front is not None:
            front.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.no_write:
        return 0
    target = (
        "a ClickHouse server (`OPENRUM_CLICKHOUSE_URL`)"
        if front is None
        else "the HTTP front over chdb (tests/clickhouse_front.py)"
    )
    limits = (
        ""
        if front is None
        else " What the front limits: ClickHouse here is one chdb connection in one Python "
        "process that runs one statement at a time (a server runs many at once), on the same "
        "2 cores as the collectors, their batch steps and wrk — so the curve shows the "
        "collectors' path against that ceiling, not what a ClickHouse server takes; "
        "run with `OPENRUM_CLICKHOUSE_URL` for a server's."
    )
    lines = [
        "## Ingest into ClickHouse from several collectors (`python -m bench.ingest_clickhouse`)",
        "",
        f"{machine()}. 1, 2 and 4 `openrum serve --store clickhouse://…` processes on one fresh "
        f"database of {target}, each loaded by its own wrk ({args.connections} connections, "
        f"unique beacons of {EVENTS_PER_BEACON} events) for {args.seconds} s, then drained. "
        "Beacons/s: accepted during the load. Events stored/s: rows in the store over the load "
        "and the drain. Stored once: every accepted event is a row, counted alike with and without "
        f"`FINAL`. Load average (5 min) {load_before:.1f} before the run, "
        f"{os.getloadavg()[1]:.1f} after: other jobs on the machine take CPU too." + limits,
        "",
        "| collectors | beacons accepted/s | events stored/s | drain (s) | accepted events "
        "| rows in the store | stored once |",
        "|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        once = r["rows"] == r["accepted_events"] == r["stored_events"] and not r["duplicates"]
        lines.append(
            f"| {r['processes']} | {r['beacons_per_s']:,.0f} | {r['stored_per_s']:,.0f} "
            f"| {r['drain_s']:.1f} | {r['accepted_events']:,.0f} | {r['rows']:,} "
            f"| {'yes' if once else 'NO'} |"
        )
    write_section("ingest_clickhouse", "\n".join(lines))
    return 0 if all(r["duplicates"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
