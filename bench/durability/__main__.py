"""bench/durability: steady load with the store stalled in the middle; nothing may be lost.

Run: ``.venv/bin/python -m bench.durability [--rate 2000] [--seconds 300] [--stall 60]``.
`openrum serve` (pinned to CPU 0) takes ``--rate`` beacons/s from wrk (pinned to CPU 1) for
``--seconds``; in the middle, writes are paused for ``--stall`` seconds (SIGUSR1 … SIGUSR2: the
store is unavailable, the spool keeps accepting). Reports acceptance latency, the spool's peak,
how long the backlog took to drain, and whether every accepted beacon was stored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time

from bench.harness import (
    EVENTS_PER_BEACON,
    metrics,
    percentile,
    query,
    rss_mb,
    start_openrum,
    stop,
    wrk,
)
from bench.plot import lines
from bench.report import PLOTS, machine, write_section


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--stall", type=int, default=60)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/durability needs wrk: apt-get install wrk")
    port = 19_000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    server, data = start_openrum(port)
    samples: list[tuple[float, float, float, float]] = []
    try:
        # Many connections, each waiting long after an answer: the latency (a few ms) moves
        # the rate by a few percent only.
        connections = 200
        delay_ms = max(1000 * connections / args.rate - 2.0, 0.1)
        load = wrk(url, args.seconds, connections, "dur", delay_ms)
        began = time.monotonic()
        stall_at = (args.seconds - args.stall) / 2
        stalled = resumed = False
        while load.poll() is None:
            time.sleep(1.0)
            t = time.monotonic() - began
            if not stalled and t >= stall_at:
                os.kill(server.pid, signal.SIGUSR1)
                stalled = True
            if stalled and not resumed and t >= stall_at + args.stall:
                os.kill(server.pid, signal.SIGUSR2)
                resumed = True
            m = metrics(url)
            samples.append(
                (t, m["openrum_spool_bytes"] / 1e6, m["openrum_queue_depth"], rss_mb(server.pid))
            )
        out = load.communicate()[0]
        if "50%" not in out:
            sys.exit(f"wrk failed:\n{out}")
        drain_began = time.monotonic()
        while metrics(url)["openrum_queue_depth"] > 0 and time.monotonic() - drain_began < 300:
            time.sleep(0.1)
        drain = time.monotonic() - drain_began
        end = metrics(url)
        whole = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
        row = query(url, data, {"app": "bench", "metrics": ["count", "errors"], **whole})
        row = row["rows"][0]
        peak_rss = rss_mb(server.pid, "VmHWM")
    finally:
        stop(server)
        shutil.rmtree(data, ignore_errors=True)
    accepted = end["openrum_beacons_accepted_total"]
    rejected = sum(v for k, v in end.items() if k.startswith("openrum_beacons_rejected_total"))
    queried = (row["count"] or 0) + (row["errors"] or 0)
    expected = accepted * 4  # each beacon: 3 actions and 1 error (and 1 user event)
    lost = expected - queried
    p50 = percentile(out, 50)
    p99 = percentile(out, 99)
    rate = accepted / args.seconds
    # Time for the backlog built during the stall to be stored once writes resumed.
    after = [(t, q) for t, _, q, _ in samples if t >= stall_at + args.stall]
    backlog_drain = next((t - stall_at - args.stall for t, q in after if q < args.rate), None)
    report = {
        "accepted": accepted,
        "rejected": rejected,
        "rate": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "queried": queried,
        "expected": expected,
        "lost": lost,
        "peak_spool_mb": max(s for _, s, _, _ in samples),
        "backlog_drain_s": backlog_drain,
        "final_drain_s": drain,
        "peak_rss_mb": peak_rss,
    }
    print(json.dumps(report, indent=1))
    if args.no_write:
        return 0
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "durability.svg").write_text(
        lines(
            f"{args.rate:,} beacons/s, store stalled {args.stall} s: spool and backlog",
            "seconds",
            "MB / beacons (thousands)",
            [
                ("spool (MB)", [(t, s) for t, s, _, _ in samples]),
                ("not yet stored (thousands)", [(t, q / 1000) for t, _, q, _ in samples]),
                ("server RSS (MB)", [(t, r) for t, _, _, r in samples]),
            ],
        )
    )
    drained = f"{backlog_drain:.0f} s" if backlog_drain is not None else "not within the run"
    write_section(
        "durability",
        f"""
## Durability (`python -m bench.durability`)

{machine()}. `openrum serve` pinned to CPU 0 took {args.rate:,} beacons/s ({EVENTS_PER_BEACON}
events each) from wrk pinned to CPU 1 for {args.seconds} s; from second {stall_at:.0f} to
{stall_at + args.stall:.0f} its writes were paused (SIGUSR1/SIGUSR2: the store unavailable, the
spool accepting).

| measure | value |
|---|---:|
| beacons accepted (202) | {accepted:,.0f} ({rate:,.0f}/s) |
| beacons rejected | {rejected:,.0f} |
| acceptance latency p50 / p99 | {p50:.2f} ms / {p99:.2f} ms |
| peak spool size | {report["peak_spool_mb"]:.1f} MB |
| backlog stored after writes resumed | {drained} |
| queue empty after the load stopped | {drain:.1f} s |
| actions + errors stored / expected | {queried:,.0f} / {expected:,.0f} |
| **lost** | **{lost:,.0f}** |
| peak server RSS | {peak_rss:.0f} MB |

![durability](benchmarks/durability.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
