"""The DuckDB store as it grows (``python -m bench.store_growth``), written to docs/benchmarks.md.

Writes batches of demo traffic (made once by the batch step, then given new event keys, session
ids and receive times for each write) into a new store (default settings) until it
holds ``--events`` events, every one received within ``resend_window_s`` of the next batch: the
worst case for finding re-sent events, which scans the rows of that window. Reports, as the store
grows: the time of a write, the process's resident memory, and DuckDB's own memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bench.harness import rss_mb
from bench.plot import lines
from bench.report import PLOTS, machine, write_section
from openrum import demo
from openrum.enrich import pipeline
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.duckdb import DuckDBStore


def template(events: int) -> Batch:
    """About ``events`` events of demo traffic, through the batch step once."""
    steps = pipeline.Pipeline(Settings())
    raws = []
    count = 0
    for _, raw in demo.traffic(events // 8, 1, 7, "bench", int(time.time() * 1000)):
        raws.append(raw)
        count += raw.events
        if count >= events:
            break
    batch = steps.run(raws)
    steps.close()
    return batch


def renamed(batch: Batch, n: int, received: dt.datetime) -> Batch:
    """``batch`` with event keys, session ids and receive times of write number ``n``."""
    out = {}
    for name, table in batch.tables().items():
        sid = pc.binary_join_element_wise(table["session_id"], pa.scalar(f".{n}"), "")
        table = table.set_column(table.schema.get_field_index("session_id"), "session_id", sid)
        stamp = pa.array([received] * table.num_rows, pa.timestamp("ms"))
        field = "last_received" if name == "sessions" else "received"
        table = table.set_column(table.schema.get_field_index(field), field, stamp)
        if name != "sessions":
            keys = pa.array(range(n << 32, (n << 32) + table.num_rows), pa.uint64())
            table = table.set_column(table.schema.get_field_index("eid"), "eid", keys)
        out[name] = table
    return Batch(**out)


def duckdb_mb(store: DuckDBStore) -> float:
    """The memory DuckDB reports for ``store`` (``duckdb_memory()``), in MB."""
    _, [(used,)] = store.select(
        "SELECT coalesce(sum(memory_usage_bytes), 0) / 1e6 FROM duckdb_memory()", []
    )
    return float(used)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=8_000_000, help="events stored in the end")
    parser.add_argument("--batch", type=int, default=50_000, help="events per write")
    settings = Settings()
    parser.add_argument(
        "--memory-mb", type=int, default=settings.store_memory_mb, help="store_memory_mb"
    )
    parser.add_argument(
        "--checkpoint-mb",
        type=int,
        default=settings.store_checkpoint_mb,
        help="store_checkpoint_mb",
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    args = parser.parse_args()
    base = template(args.batch)
    samples: list[tuple[int, float, float, float]] = []  # events, write ms, RSS MB, DuckDB MB
    with tempfile.TemporaryDirectory(prefix="openrum-growth-") as tmp:
        store = DuckDBStore(
            Path(tmp) / "growth.duckdb",
            memory_limit=f"{args.memory_mb}MB",
            checkpoint=f"{args.checkpoint_mb}MB",
        )
        start = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        stored = n = 0
        while stored < args.events:
            # One write a second of receive time: the whole store stays inside the window.
            batch = renamed(base, n, start + dt.timedelta(seconds=n))
            began = time.perf_counter()
            store.write(batch)
            took = (time.perf_counter() - began) * 1000
            stored += len(batch)
            n += 1
            duck = duckdb_mb(store)
            samples.append((stored, took, rss_mb(os.getpid(), children=False), duck))
            print(f"{stored:>10,} events  write {took:7.0f} ms  RSS {samples[-1][2]:6.0f} MB  "
                  f"DuckDB {duck:6.0f} MB", flush=True)  # fmt: skip
        size_mb = os.path.getsize(Path(tmp) / "growth.duckdb") / 1e6
        store.close()
    if args.no_write:
        return 0
    PLOTS.mkdir(parents=True, exist_ok=True)
    millions = [(s / 1e6, t, r, d) for s, t, r, d in samples]
    title = f"DuckDB store growing to {args.events / 1e6:.0f}M events, {args.memory_mb} MB limit"
    (PLOTS / "store-growth-writes.svg").write_text(
        lines(
            f"{title}: time of each write",
            "million events stored",
            "ms",
            [("write (ms)", [(m, t) for m, t, _, _ in millions])],
        )
    )
    (PLOTS / "store-growth-memory.svg").write_text(
        lines(
            f"{title}: memory after each write",
            "million events stored",
            "MB",
            [
                ("process RSS", [(m, r) for m, _, r, _ in millions]),
                ("DuckDB (duckdb_memory())", [(m, d) for m, _, _, d in millions]),
            ],
        )
    )
    tenth = max(len(samples) // 10, 1)

    def window(part: list[tuple[int, float, float, float]]) -> str:
        times = sorted(t for _, t, _, _ in part)
        return f"{times[len(times) // 2]:,.0f} ms"

    def slowest(part: list[tuple[int, float, float, float]]) -> str:
        return f"{max(t for _, t, _, _ in part):,.0f} ms"

    write_section(
        "store_growth",
        f"""
## DuckDB store growth (`python -m bench.store_growth`)

{machine()}. One process writes batches of {stored // n:,} events of demo traffic (actions,
errors, user events and their sessions; new keys each write) into a new DuckDB store with
`store_memory_mb` = {args.memory_mb} and `store_checkpoint_mb` = {args.checkpoint_mb}, until it
holds {stored:,} events ({n} writes, a {size_mb:,.0f} MB file). Every row is received within
`resend_window_s` of the next write: the worst case for finding re-sent events (the scan covers
every stored row). The process's RSS includes the demo generator and the batch step that made
the template batch.

| | first tenth of the writes | last tenth |
|---|---:|---:|
| median write | {window(samples[:tenth])} | {window(samples[-tenth:])} |
| slowest write (a checkpoint, or the rollups' compaction every `store_rollup_compact_writes`) | {slowest(samples[:tenth])} | {slowest(samples[-tenth:])} |
| process RSS at the end of the tenth | {samples[tenth - 1][2]:,.0f} MB | {samples[-1][2]:,.0f} MB |

Slowest write of the run: {slowest(samples)}. Largest process RSS: {max(r for _, _, r, _ in samples):,.0f} MB;
largest DuckDB memory after a write (`duckdb_memory()`): {max(d for _, _, _, d in samples):,.0f} MB.
Every write succeeded.

![writes](benchmarks/store-growth-writes.svg)
![memory](benchmarks/store-growth-memory.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
