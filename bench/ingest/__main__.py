"""bench/ingest: beacons/s, latency and memory of `openrum serve` against the machine's ceiling.

Run: ``.venv/bin/python -m bench.ingest [--seconds 60] [--rate 10000] [--pinned]``. Needs
Debian's `wrk` (`make bench` installs it when missing) and `taskset`. wrk runs pinned to CPU 1; the
server under test runs one worker (one event loop), and its batch step process and writer thread
take what CPU time is left on either core (``--pinned`` keeps all of it on CPU 0). In the same run:

1. ceiling: a bare raw-ASGI endpoint that reads and discards the same body (bench/ingest/bare.py);
2. peak: `openrum serve` at full load for the same time;
3. sustained: `openrum serve` at ``--rate`` beacons/s of 5 events for ``--seconds``, sampling
   RSS and queue depth, then checking that every accepted event is in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from bench.harness import (
    EVENTS_PER_BEACON,
    metrics,
    percentile,
    pss_mb,
    query,
    rss_mb,
    run_wrk,
    start,
    start_openrum,
    stop,
    wrk,
)
from bench.plot import bars, lines
from bench.report import PLOTS, machine, write_section
from openrum.settings import Settings


def settle(url: str) -> None:
    """Wait (up to 2 minutes) until every accepted beacon is stored."""
    for _ in range(600):
        if metrics(url)["openrum_queue_depth"] == 0:
            return
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="sustained phase length")
    parser.add_argument("--peak-seconds", type=int, default=15, help="ceiling and peak phases")
    parser.add_argument("--rate", type=int, default=10_000, help="sustained beacons/s")
    parser.add_argument("--connections", type=int, default=64, help="ceiling and peak phases")
    parser.add_argument(
        "--sustained-connections", type=int, default=1000, help="sustained phase (paced)"
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    parser.add_argument(
        "--store-memory-mb", type=int, default=0, help="the server's store_memory_mb (default: its)"
    )
    parser.add_argument("--log", type=Path, help="write the server's output here")
    parser.add_argument(
        "--pinned",
        action="store_true",
        help="keep the servers (every process and thread) on CPU 0",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/ingest needs wrk: apt-get install wrk")
    py = sys.executable
    port = 18_000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"

    bare = start(
        [
            py,
            "-m",
            "uvicorn",
            "bench.ingest.bare:app",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        port,
        pin=args.pinned,
    )
    try:
        ceiling = run_wrk(url, args.peak_seconds, args.connections)
    finally:
        stop(bare)

    defaults = Settings()
    store_memory_mb = args.store_memory_mb or defaults.store_memory_mb
    server, data = start_openrum(
        port, pin=args.pinned, log=args.log, settings={"store_memory_mb": str(store_memory_mb)}
    )
    try:
        before = metrics(url)
        peak = run_wrk(url, args.peak_seconds, args.connections)
        after = metrics(url)
        peak_accepted = (
            after["openrum_beacons_accepted_total"] - before["openrum_beacons_accepted_total"]
        )
        settle(url)  # the peak phase's beacons are stored before the sustained phase
        # Paced load: each connection waits `delay` after each answer, so
        # rate = connections / (delay + latency). The latency at this rate is not known ahead
        # (the spool's fsync and the batch step's share of the CPU set it): two 5 s calibration
        # runs measure it, each at the delay the previous one called for.
        connections = args.sustained_connections
        delay_ms = 1000 * connections / args.rate
        for _ in range(2):
            calibration = wrk(url, 5, connections, "cal", delay_ms).communicate()[0]
            got = float(re.search(r"Requests/sec:\s+([\d.]+)", calibration).group(1))  # type: ignore[union-attr]
            latency_ms = max(1000 * connections / max(got, 1.0) - delay_ms, 0.0)
            delay_ms = max(1000 * connections / args.rate - latency_ms, 0.1)
            settle(url)
        start_m = metrics(url)
        samples: list[tuple[float, float, float]] = []
        peak_pss = 0.0
        load = wrk(url, args.seconds, connections, "sus", delay_ms)
        began = time.monotonic()
        while load.poll() is None:
            time.sleep(1.0)
            m = metrics(url)
            samples.append((time.monotonic() - began, rss_mb(server.pid), m["openrum_queue_depth"]))
            peak_pss = max(peak_pss, pss_mb(server.pid))
        out = load.communicate()[0]
        sustained_requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        sustained_p50 = percentile(out, 50)
        sustained_p99 = percentile(out, 99)
        drain_began = time.monotonic()
        while metrics(url)["openrum_queue_depth"] > 0 and time.monotonic() - drain_began < 300:
            peak_pss = max(peak_pss, pss_mb(server.pid))
            time.sleep(0.1)
        time.sleep(1.5)  # the batch in flight
        drain = time.monotonic() - drain_began
        end_m = metrics(url)
        accepted = (
            end_m["openrum_beacons_accepted_total"] - start_m["openrum_beacons_accepted_total"]
        )
        accepted_events = (
            end_m["openrum_events_accepted_total"] - start_m["openrum_events_accepted_total"]
        )

        def stored(m: dict[str, float]) -> float:
            return sum(v for k, v in m.items() if k.startswith("openrum_events_stored_total"))

        stored_events = stored(end_m) - stored(start_m)
        all_accepted = end_m["openrum_events_accepted_total"]
        whole = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
        row = query(url, data, {"app": "bench", "metrics": ["count", "errors"], **whole})
        row = row["rows"][0]
        peak_rss = rss_mb(server.pid, "VmHWM")
        server_rss = rss_mb(server.pid, "VmHWM", children=False)
    finally:
        stop(server)
        shutil.rmtree(data, ignore_errors=True)
    # Each beacon: 3 actions, 1 error, 1 user event. The query API counts actions and errors.
    queried = row["count"] + row["errors"]
    expected_queried = all_accepted / EVENTS_PER_BEACON * 4
    rate = accepted / args.seconds
    report = {
        "ceiling_rps": ceiling.rps,
        "ceiling_p50": ceiling.p50_ms,
        "ceiling_p99": ceiling.p99_ms,
        "peak_rps": peak.rps,
        "peak_accepted_per_s": peak_accepted / peak.seconds,
        "peak_p50": peak.p50_ms,
        "peak_p99": peak.p99_ms,
        "peak_non_2xx": peak.non_2xx,
        "sustained_rate": rate,
        "sustained_requests": sustained_requests,
        "sustained_p50": sustained_p50,
        "sustained_p99": sustained_p99,
        "accepted_events": accepted_events,
        "stored_events": stored_events,
        "queried": queried,
        "expected_queried": expected_queried,
        "peak_rss_mb": peak_rss,
        "server_rss_mb": server_rss,
        "peak_pss_mb": peak_pss,
        "drain_s": drain,
        "max_queue": max(q for _, _, q in samples),
    }
    print(json.dumps(report, indent=1))
    if args.no_write:
        return 0
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "ingest-throughput.svg").write_text(
        bars(
            "Beacons/s (wrk pinned to CPU 1)",
            "requests/s",
            [
                ("bare ASGI ceiling", ceiling.rps),
                ("openrum serve (peak)", peak.rps),
                (f"sustained target {args.rate:,}", rate),
            ],
        )
    )
    (PLOTS / "ingest-sustained.svg").write_text(
        lines(
            f"Sustained {args.rate:,} beacons/s: RSS (server + batch step) and queue depth",
            "seconds",
            "MB / beacons (thousands)",
            [
                ("RSS (MB)", [(t, r) for t, r, _ in samples]),
                ("queue depth (thousands)", [(t, q / 1000) for t, _, q in samples]),
            ],
        )
    )
    share = peak.rps / ceiling.rps
    pinning = (
        ", every process on CPU 0 (`taskset -c 0`)"
        if args.pinned
        else "; its batch step process, writer thread and database worker threads (niceness 10, "
        "in the idle scheduling class) "
        "use what CPU time is left"
    )
    default_mb = defaults.store_memory_mb
    memory_note = "" if store_memory_mb == default_mb else f" (not the default, {default_mb} MB)"
    every = "yes" if stored_events == accepted_events and queried == expected_queried else "NO"
    write_section(
        "ingest",
        f"""
## Ingest (`python -m bench.ingest`)

{machine()}. Server: `openrum serve`, one worker (uvicorn + httptools + uvloop){pinning};
DuckDB store memory (`store_memory_mb`): {store_memory_mb} MB{memory_note}, checkpoints every
{defaults.store_checkpoint_mb} MB of write-ahead log (`store_checkpoint_mb`);
load: `wrk -t1 -c{args.connections}` pinned to CPU 1 with `bench/ingest/beacon.lua` (unique
beacons of {EVENTS_PER_BEACON} events, ~1.4 KB: a load action with Navigation Timing and vitals,
two xhr actions, a JavaScript error and a rage click).

| run | requests/s | p50 latency | p99 latency |
|---|---:|---:|---:|
| bare raw-ASGI endpoint (read + discard: the ceiling) | {ceiling.rps:,.0f} | {ceiling.p50_ms:.2f} ms | {ceiling.p99_ms:.2f} ms |
| `openrum serve`, full load for {args.peak_seconds} s | {peak.rps:,.0f} ({share:.0%} of the ceiling) | {peak.p50_ms:.2f} ms | {peak.p99_ms:.2f} ms |
| `openrum serve`, paced at {args.rate:,}/s for {args.seconds} s ({connections:,} connections, each waiting {delay_ms:.0f} ms after an answer: set by two 5 s calibration runs) | {rate:,.0f} accepted | {sustained_p50:.2f} ms | {sustained_p99:.2f} ms |

Sustained phase: {accepted:,.0f} beacons ({accepted_events:,.0f} events) accepted,
{stored_events:,.0f} events stored; the query API counts {queried:,.0f} actions + errors for
{expected_queried:,.0f} expected over the whole run — every accepted event stored: **{every}**.
Largest write queue: {report["max_queue"]:,.0f} beacons; drained {drain:.1f} s after the load
stopped. Peak RSS (VmHWM, whole run) of the server and its child processes (batch step, spool fsync
helper, resource
tracker), summed: {peak_rss:.0f} MB (the server process alone: {server_rss:.0f} MB). Their
physical memory — the proportional set size summed, which counts once the library pages the
processes share (pyarrow alone maps ~60 MB into each) — peaked at **{peak_pss:.0f} MB** (sampled
every second of the sustained phase and the drain).
Non-2xx answers at full load: {peak.non_2xx:,}.

![throughput](benchmarks/ingest-throughput.svg)
![sustained](benchmarks/ingest-sustained.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
