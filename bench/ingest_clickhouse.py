"""bench/ingest_clickhouse: collector processes writing batches to ClickHouse at once.

Run: ``OPENRUM_CLICKHOUSE_URL=clickhouse://user:pass@host:8123/db .venv/bin/python -m
bench.ingest_clickhouse [--processes 1 2 4] [--seconds 20]``. Each process is a collector's writer:
it opens its own store and writes batches of 5,000 actions (+ sessions touches), as the batch
step does, with ``store.write`` — the re-send check, the insert and the rollups' views included.
The throughput curve is events stored per second over all processes.

Without ``OPENRUM_CLICKHOUSE_URL`` it runs one process on chdb (the engine in process: one
process per data path, so it cannot show several collectors) and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import shutil
import tempfile
import time

import pyarrow as pa

from bench.report import machine, write_section
from openrum.rows import Batch
from openrum.store import open_store

BATCH = 5_000
T0 = dt.datetime(2026, 11, 20, 0, 0)


def batch(worker: int, n: int, rng: random.Random) -> Batch:
    base = (worker << 40) + n * BATCH
    times = [T0 + dt.timedelta(milliseconds=rng.randrange(86_400_000)) for _ in range(BATCH)]
    d = [rng.lognormvariate(7.2, 0.6) for _ in range(BATCH)]
    actions = pa.table(
        {
            "eid": pa.array([base + i for i in range(BATCH)], pa.uint64()),
            "app": ["bench"] * BATCH,
            "time": pa.array(times, pa.timestamp("ms")),
            "received": pa.array(times, pa.timestamp("ms")),
            "session_id": [f"w{worker}s{(base + i) // 5}" for i in range(BATCH)],
            "page_view_id": [f"p{base + i}" for i in range(BATCH)],
            "seq": [1] * BATCH,
            "event_id": ["a"] * BATCH,
            "action_type": [rng.choice(["load", "load", "xhr", "route_change"]) for _ in d],
            "action_name": [f"action {rng.randrange(40)}" for _ in d],
            "url": [f"https://shop.example/p{rng.randrange(300)}" for _ in d],
            "page": [f"/p{rng.randrange(300)}" for _ in d],
            "duration": d,
            "lcp": [x * 1.3 for x in d],
            "inp": [float(rng.randrange(50, 500)) for _ in d],
            "long_tasks": [0] * BATCH,
            "long_task_ms": [0.0] * BATCH,
            "requests": [1] * BATCH,
            "errors": [0] * BATCH,
            "apdex": ["S" if x <= 3000 else "T" if x <= 12000 else "F" for x in d],
            "weight": [1.0] * BATCH,
            "agent_version": ["0.1.0"] * BATCH,
            "browser": [rng.choice(["Chrome", "Safari", "Firefox", "Edge"]) for _ in d],
            "device": [rng.choice(["desktop", "mobile", "tablet"]) for _ in d],
            "country": [rng.choice(["US", "DE", "FR", "JP", "BR"]) for _ in d],
        }
    )
    return Batch(actions=actions)


def writer(url: str, worker: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    store = open_store(url)
    rng = random.Random(worker)
    batches = [batch(worker, i, rng) for i in range(4)]  # built before the clock starts
    n = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        b = batches[n % len(batches)]
        eids = pa.array([(worker << 40) + n * BATCH + i for i in range(BATCH)], pa.uint64())
        store.write(Batch(actions=b.actions.set_column(0, "eid", eids)))  # type: ignore[union-attr]
        n += 1
    took = time.perf_counter() - began
    store.close()
    out.put((n * BATCH, took))


def run(url: str, processes: int, seconds: float) -> float:
    out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [mp.Process(target=writer, args=(url, w, seconds, out)) for w in range(processes)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(n for n, _ in results) / max(t for _, t in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    server = os.environ.get("OPENRUM_CLICKHOUSE_URL")
    rows = []
    tmp = None
    if server:
        counts, target = args.processes, "a ClickHouse server (`OPENRUM_CLICKHOUSE_URL`)"
    else:
        tmp = tempfile.mkdtemp(prefix="bench-ingest-")
        counts, target = [1], "chdb (in process; one process per data path)"
    try:
        for n in counts:
            url = server or f"chdb:///{tmp}/n{n}"
            rate = run(url, n, args.seconds)
            rows.append(f"| {n} | {rate:,.0f} |")
            print(f"{n} writer process(es): {rate:,.0f} actions/s", flush=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.no_write:
        return 0
    note = (
        ""
        if server
        else "No ClickHouse server could be had on this machine (Debian ships 18.16, too old for "
        "this schema; PyPI has no server binary, and chdb does not serve ClickHouse's HTTP "
        "interface: its engine starts no listeners — `SYSTEM START LISTEN` fails for want of a "
        "server callback), so only one writer on chdb was measured; run with "
        "`OPENRUM_CLICKHOUSE_URL` for the 1/2/4-process curve."
    )
    write_section(
        "ingest_clickhouse",
        "\n".join(
            [
                "## Ingest into ClickHouse (`python -m bench.ingest_clickhouse`)",
                "",
                f"{machine()}. Writer processes, each with its own store, writing batches of "
                f"{BATCH:,} actions through `store.write` for {args.seconds:.0f} s into {target}; "
                "rollups fed by their views on every insert. " + note,
                "",
                "| writer processes | actions stored per second |",
                "|---:|---:|",
                *rows,
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
