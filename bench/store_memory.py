"""The embedded store's memory against its write time (``python -m bench.store_memory``), written
to docs/benchmarks.md: what each ``store_memory_mb`` / ``store_checkpoint_mb`` pair costs.

Each pair runs in a process of its own, which writes ``--writes`` batches of demo traffic
(bench/store_growth's template: about 45,000 events spanning 25 hours, new keys and receive times
each write) into a new store, and reports: the median and mean time of a write, the events per
second the mean makes, how far the process's peak RSS (VmHWM) rose above its RSS before the first
write (the memory the store took), and the most DuckDB reported after a write (``duckdb_memory()``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import reset_peak, rss_mb
from bench.plot import lines
from bench.report import PLOTS, machine, write_section
from bench.store_growth import duckdb_mb, renamed, template
from openrum.settings import Settings
from openrum.store.base import StoreError
from openrum.store.duckdb import DuckDBStore

# (store_memory_mb, store_checkpoint_mb): the defaults first, the small-memory settings
# (docs/operations.md) last, then again with their smaller writes (write_max_events).
PAIRS = ((256, 256), (256, 64), (256, 32), (192, 128), (160, 128), (128, 64), (96, 48), (64, 32))
SMALL_WRITES = 20_000


def one(memory_mb: int, checkpoint_mb: int, writes: int, events: int) -> dict[str, Any]:
    """Write ``writes`` batches into a new store with these settings; the measurements."""
    base = template(events)
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    times: list[float] = []
    duck = 0.0
    with tempfile.TemporaryDirectory(prefix="openrum-memory-") as tmp:
        store = DuckDBStore(
            Path(tmp) / "memory.duckdb",
            memory_limit=f"{memory_mb}MB",
            checkpoint=f"{checkpoint_mb}MB",
        )
        batch = renamed(base, 0, start)
        before = reset_peak()
        for n in range(writes):
            began = time.perf_counter()
            try:
                store.write(batch)
            except StoreError as e:  # reported as such: the memory does not suffice
                store.close()
                reason = str(e).splitlines()[0].split(": ", 1)[-1]
                return {"memory_mb": memory_mb, "checkpoint_mb": checkpoint_mb,
                        "events": len(batch), "failed": f"write {n + 1} failed: {reason}"}  # fmt: skip
            times.append(time.perf_counter() - began)
            duck = max(duck, duckdb_mb(store))
            batch = renamed(base, n + 1, start + dt.timedelta(seconds=n + 1))
        peak = rss_mb(os.getpid(), "VmHWM", children=False)
        store.close()
    mean = statistics.mean(times)
    return {
        "memory_mb": memory_mb,
        "checkpoint_mb": checkpoint_mb,
        "events": len(batch),
        "median_ms": statistics.median(times) * 1000,
        "mean_ms": mean * 1000,
        "events_per_s": len(batch) / mean,
        "rss_rise_mb": peak - before,
        "duckdb_mb": duck,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=40, help="writes for each pair")
    parser.add_argument("--batch", type=int, default=50_000, help="events per write (about)")
    parser.add_argument(
        "--one", nargs=2, type=int, metavar=("MEMORY_MB", "CHECKPOINT_MB"), help=argparse.SUPPRESS
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.writes, args.batch)))
        return 0
    results = []
    for memory_mb, checkpoint_mb, batch in [(*p, args.batch) for p in PAIRS] + [
        (*PAIRS[-1], SMALL_WRITES)
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "bench.store_memory", "--one", str(memory_mb),
             str(checkpoint_mb), "--writes", str(args.writes), "--batch", str(batch)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        results.append(json.loads(run.stdout.splitlines()[-1]))
        r = results[-1]
        print(f"{memory_mb:>4} / {checkpoint_mb:>3} MB, {r['events']:,} events: "
              + (r["failed"] if "failed" in r else
                 f"median {r['median_ms']:5.0f} ms, mean {r['mean_ms']:5.0f} ms, "
                 f"RSS +{r['rss_rise_mb']:4.0f} MB, DuckDB {r['duckdb_mb']:4.0f} MB"),
              flush=True)  # fmt: skip
    if args.no_write:
        return 0
    defaults = Settings()
    notes = {
        (defaults.store_memory_mb, defaults.store_checkpoint_mb): " (defaults)",
        PAIRS[-1]: " (small memory)",
    }
    # The writes of the same size, each store_memory_mb's first pair that stored them all.
    first: dict[int, dict[str, Any]] = {}
    for r in results[: len(PAIRS)]:
        if "failed" not in r:
            first.setdefault(r["memory_mb"], r)
    plotted = list(first.values())
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "store-memory.svg").write_text(
        lines(
            "DuckDB store: memory taken and time of a write, by store_memory_mb",
            "store_memory_mb",
            "MB / ms",
            [
                ("peak RSS rise (MB)", [(r["memory_mb"], r["rss_rise_mb"]) for r in plotted]),
                ("mean write (ms)", [(r["memory_mb"], r["mean_ms"]) for r in plotted]),
            ],
        )
    )

    def row(r: dict[str, Any]) -> str:
        note = notes.get((int(r["memory_mb"]), int(r["checkpoint_mb"])), "")
        if r["events"] != results[0]["events"]:
            note += f", writes of {r['events']:,.0f} events"
        if "failed" in r:
            return f"| {r['memory_mb']:.0f} / {r['checkpoint_mb']:.0f}{note} | {r['failed']} ||||| "
        return (
            f"| {r['memory_mb']:.0f} / {r['checkpoint_mb']:.0f}{note} | {r['median_ms']:,.0f} ms "
            f"| {r['mean_ms']:,.0f} ms | {r['events_per_s']:,.0f} | {r['rss_rise_mb']:,.0f} MB "
            f"| {r['duckdb_mb']:,.0f} MB |"
        )

    table = "\n".join(row(r) for r in results)
    write_section(
        "store_memory",
        f"""
## DuckDB store memory against write time (`python -m bench.store_memory`)

{machine()}. For each pair of `store_memory_mb` / `store_checkpoint_mb`, a process of its own
writes {args.writes} batches of {results[0]["events"]:,.0f} events of demo traffic (spanning 25
hours; new keys each write) into a new store. The mean write includes the checkpoints and one
compaction of the rollups. "Peak RSS rise" is how far the process's VmHWM rose above its RSS
before the first write: the memory the store took for these writes. Every pair writes the same
batches; the last row writes batches of {results[-1]["events"]:,.0f} events, as the small-memory
settings of docs/operations.md do (`write_max_events` = {SMALL_WRITES:,}: smaller writes, which
cost more per event). A store that could not write a batch stops there: the row says which write
failed and why.

| store_memory_mb / store_checkpoint_mb | median write | mean write | events/s (mean) | peak RSS rise | DuckDB's memory (most, after a write) |
|---|---:|---:|---:|---:|---:|
{table}

![memory](benchmarks/store-memory.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
