"""bench/ingest: beacons/s, latency and memory of `openrum serve` against the machine's ceiling.

Run: ``.venv/bin/python -m bench.ingest [--seconds 60] [--rate 10000] [--pinned]``. Needs
Debian's `wrk` (`make bench` installs it when missing) and `taskset`. wrk runs pinned to CPU 1; the
server under test runs one worker (one event loop), and its batch step process and writer thread
take what CPU time is left on either core (``--pinned`` keeps all of it on CPU 0). In the same run:

1. ceiling: a bare raw-ASGI endpoint that reads and discards the same body (bench/ingest/bare.py),
   and Node's bare `http` server doing the same (bench/ingest/bare_node.mjs), the reference the
   full durable path is compared with;
2. where a request's time goes: the same endpoint decoding each body as the collector does, then
   `openrum serve` with its store writes paused (the whole request, spool included), each at full
   load for the same time, with the event loop's CPU time per request;
3. peak: `openrum serve` at full load for the same time;
4. sustained: `openrum serve` at ``--rate`` beacons/s of 5 events for ``--seconds``, sampling
   RSS and queue depth, then checking that every accepted event is in the store; once on the
   server of the peak phase (default settings), once on a server set for a small memory;
5. memory: a server with default settings on a store of 10M actions (bench/query's generated
   week, ``--store-actions``), just started, then idle (at rest: ``rest_after_s``), then paced at
   ``--light-rate`` (2,000/s) for ``--seconds``, then at rest again: PSS summed over the server
   and its child processes, and each process's.

``--phases`` runs some of them alone (docs/ is written only when all ran).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench.harness import (
    EVENTS_PER_BEACON,
    WrkResult,
    create_app,
    loop_cpu_s,
    metrics,
    percentile,
    pss_by_process,
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


# A server set for a small memory: DuckDB's buffer pool and its unwritten rows kept small, and
# smaller writes (each costs more per event, so a backlog drains more slowly).
SMALL = {"store_memory_mb": "64", "store_checkpoint_mb": "32", "write_max_events": "20000"}


def sustained(
    url: str, server: subprocess.Popen[bytes], data: Path, args: argparse.Namespace, rate: int
) -> dict[str, Any]:
    """Paced load at ``rate`` for ``args.seconds``, then the drain: latency, memory, and
    whether every accepted event is stored."""
    # Paced load: each connection waits `delay` after each answer, so
    # rate = connections / (delay + latency). The latency at this rate is not known ahead
    # (the spool's fsync and the batch step's share of the CPU set it): two 5 s calibration
    # runs measure it, each at the delay the previous one called for.
    connections = args.sustained_connections
    delay_ms = 1000 * connections / rate
    for _ in range(2):
        calibration = wrk(url, 5, connections, "cal", delay_ms).communicate()[0]
        got = float(re.search(r"Requests/sec:\s+([\d.]+)", calibration).group(1))  # type: ignore[union-attr]
        latency_ms = max(1000 * connections / max(got, 1.0) - delay_ms, 0.0)
        delay_ms = max(1000 * connections / rate - latency_ms, 0.1)
        settle(url)
    whole = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    counted = {"app": "bench", "metrics": ["count", "errors"], **whole}
    before = query(url, data, counted)["rows"][0]  # what the store held (the idle phase's rows)
    start_m = metrics(url)
    samples: list[tuple[float, float, float]] = []
    pss: list[float] = []
    max_spool = 0.0
    peak_by_process: dict[str, float] = {}
    load = wrk(url, args.seconds, connections, "sus", delay_ms)
    began = time.monotonic()
    while load.poll() is None:
        time.sleep(1.0)
        m = metrics(url)
        samples.append((time.monotonic() - began, rss_mb(server.pid), m["openrum_queue_depth"]))
        max_spool = max(max_spool, m["openrum_spool_bytes"])
        by_process = pss_by_process(server.pid)
        pss.append(sum(by_process.values()))
        if pss[-1] >= max(pss):
            peak_by_process = by_process
    peak_pss = max(pss)
    out = load.communicate()[0]
    drain_began = time.monotonic()
    while metrics(url)["openrum_queue_depth"] > 0 and time.monotonic() - drain_began < 300:
        peak_pss = max(peak_pss, pss_mb(server.pid))
        time.sleep(0.1)
    time.sleep(1.5)  # the batch in flight
    drain = time.monotonic() - drain_began
    end_m = metrics(url)

    def stored(m: dict[str, float]) -> float:
        return sum(v for k, v in m.items() if k.startswith("openrum_events_stored_total"))

    row = query(url, data, counted)["rows"][0]
    accepted = end_m["openrum_beacons_accepted_total"] - start_m["openrum_beacons_accepted_total"]
    return {
        "connections": connections,
        "delay_ms": delay_ms,
        "rate": accepted / args.seconds,
        "accepted": accepted,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": percentile(out, 50),
        "p99": percentile(out, 99),
        "accepted_events": (
            end_m["openrum_events_accepted_total"] - start_m["openrum_events_accepted_total"]
        ),
        "stored_events": stored(end_m) - stored(start_m),
        # Each beacon: 3 actions, 1 error, 1 user event. The query API counts actions and
        # errors: those the store held before the paced load are taken out.
        "queried": row["count"] + row["errors"] - before["count"] - before["errors"],
        "expected_queried": (
            end_m["openrum_events_accepted_total"] - start_m["openrum_events_accepted_total"]
        )
        / EVENTS_PER_BEACON
        * 4,
        "peak_rss_mb": rss_mb(server.pid, "VmHWM"),
        "server_rss_mb": rss_mb(server.pid, "VmHWM", children=False),
        "peak_pss_mb": peak_pss,
        "median_pss_mb": statistics.median(pss),
        "peak_pss_by_process": peak_by_process,
        "drain_s": drain,
        "max_queue": max(q for _, _, q in samples),
        "max_spool_mb": max_spool / 2**20,
        "samples": samples,
    }


def generate_store(data: Path, actions: int) -> dict[str, float]:
    """A store of ``actions`` actions (and their errors and sessions, a week of them: bench/query's
    data) with the application `bench`, in the data directory ``data``, unless it holds one."""
    from bench.query import fill
    from openrum.store.duckdb import DuckDBStore

    path = data / "openrum.duckdb"
    if not path.exists():
        store = DuckDBStore(path, memory_limit="1GB")  # one-off statements of 2M rows
        took, rebuilt, _ = fill(store, actions)
        # Weeks old: the session closer has closed them (else the server's first minutes would
        # go to closing 2 million sessions, a one-off the idle phase is not about).
        store._con.execute("UPDATE sessions SET closed = true")
        store.close()
        create_app(data)
        print(f"store of {actions:,} actions generated in {took + rebuilt:.0f} s", flush=True)
    return {"actions": actions, "file_mb": path.stat().st_size / 2**20}


def idle(pid: int, wait_s: float = 10.0, samples: int = 10) -> dict[str, Any]:
    """The server's memory at rest: summed PSS sampled every second for ``samples`` s after
    ``wait_s`` (its start-up work done), and each process's median."""
    time.sleep(wait_s)
    taken = []
    for _ in range(samples):
        taken.append(pss_by_process(pid))
        time.sleep(1.0)
    sums = [sum(t.values()) for t in taken]
    roles = sorted({role for t in taken for role in t})
    return {
        "median_pss_mb": statistics.median(sums),
        "max_pss_mb": max(sums),
        "by_process": {r: statistics.median(t.get(r, 0.0) for t in taken) for r in roles},
    }


# When the idle phase samples the server, in seconds after its start: at rest, and after the
# first retention pass (a minute after the start).
IDLE_FROM_S = 120

# The phases (--phases): the bare endpoints (raw ASGI, raw ASGI decoding, Node); `openrum serve`
# with writes paused; at full load; paced at --rate with default settings, then small-memory
# ones; and on a store of --store-actions actions: idle, then paced at --light-rate.
PHASES = ("ceiling", "paused", "peak", "sustained", "small", "idle", "light")


# The ASGI endpoints' server: uvicorn with the event loop and HTTP parser of `openrum serve`.
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]


class Peak(NamedTuple):
    wrk: WrkResult
    loop_us: float  # the event loop's CPU time per request
    loop_busy: float  # the share of the run the loop was on a CPU


def peak_run(url: str, pid: int, args: argparse.Namespace) -> Peak:
    """Full load on the server ``pid``, whose main thread is its event loop."""
    cpu = loop_cpu_s(pid)
    result = run_wrk(url, args.peak_seconds, args.connections)
    used = loop_cpu_s(pid) - cpu
    return Peak(result, 1e6 * used / result.requests, used / result.seconds)


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
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=PHASES,
        default=list(PHASES),
        help="run only these phases (docs/ is written only when every phase ran)",
    )
    parser.add_argument(
        "--light-rate",
        type=int,
        default=2_000,
        help="beacons/s of the sustained phase on the store",
    )
    parser.add_argument(
        "--store-actions",
        type=int,
        default=10_000_000,
        help="actions in the store of the idle and light phases",
    )
    parser.add_argument(
        "--store-dir",
        type=Path,
        help="data directory of the idle and light phases: kept, and its store generated only "
        "when it has none (the light phase adds its beacons to it)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/ingest needs wrk: apt-get install wrk")
    phases = set(args.phases)
    py = sys.executable
    port = 18_000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {}

    runs: dict[str, Peak] = {}
    node = ["node", str(Path(__file__).with_name("bare_node.mjs")), str(port)]
    for name, cmd in (
        ("ceiling", [py, "-m", "uvicorn", "bench.ingest.bare:app", "--port", str(port), *UVICORN]),
        (
            "decode",
            [py, "-m", "uvicorn", "bench.ingest.bare:decoding", "--port", str(port), *UVICORN],
        ),
        ("node", node),
    ):
        if "ceiling" not in phases:
            break
        bare = start(cmd, port, pin=args.pinned)
        try:
            runs[name] = peak_run(url, bare.pid, args)
        finally:
            stop(bare)

    defaults = Settings()
    store_memory_mb = args.store_memory_mb or defaults.store_memory_mb
    openrum_settings = {"store_memory_mb": str(store_memory_mb)}
    # The whole request without the store's work beside it: writes paused (SIGUSR1, as for a
    # backup: docs/operations.md), the spool takes every beacon. A server of its own, so that
    # its backlog is not the next phases'.
    if "paused" in phases:
        server, data = start_openrum(port, pin=args.pinned, log=args.log, settings=openrum_settings)
        try:
            os.kill(server.pid, signal.SIGUSR1)
            time.sleep(1)  # the writer thread pauses after the batch in flight (none: it is idle)
            runs["paused"] = peak_run(url, server.pid, args)
        finally:
            stop(server)
            shutil.rmtree(data, ignore_errors=True)

    if phases & {"peak", "sustained"}:
        server, data = start_openrum(port, pin=args.pinned, log=args.log, settings=openrum_settings)
        try:
            if "peak" in phases:
                before = metrics(url)
                runs["peak"] = peak_run(url, server.pid, args)
                peak = runs["peak"].wrk
                after = metrics(url)
                accepted = (
                    after["openrum_beacons_accepted_total"]
                    - before["openrum_beacons_accepted_total"]
                )
                report |= {
                    "peak_rps": peak.rps,
                    "peak_accepted_per_s": accepted / peak.seconds,
                    "peak_p50": peak.p50_ms,
                    "peak_p99": peak.p99_ms,
                    "peak_non_2xx": peak.non_2xx,
                }
                settle(url)  # the peak phase's beacons are stored before the sustained phase
            if "sustained" in phases:
                report["sustained"] = sustained(url, server, data, args, args.rate)
        finally:
            stop(server)
            shutil.rmtree(data, ignore_errors=True)
    # The same sustained phase on a server set for a small memory (docs/operations.md).
    if "small" in phases:
        server, data = start_openrum(port, pin=args.pinned, log=args.log, settings=SMALL)
        try:
            report["sustained_small_memory"] = sustained(url, server, data, args, args.rate)
        finally:
            stop(server)
            shutil.rmtree(data, ignore_errors=True)
    # A server on a store of --store-actions actions, default settings: idle, then paced at
    # --light-rate.
    if phases & {"idle", "light"}:
        data = args.store_dir or Path(tempfile.mkdtemp(prefix="openrum-bench-store-"))
        report["store"] = generate_store(data, args.store_actions)
        server, data = start_openrum(port, pin=args.pinned, log=args.log, data=data)
        try:
            if "idle" in phases:
                # Just started (the batch step process ready for the first beacon), then at
                # rest (no batch for rest_after_s) once the start-up work is done: the first
                # retention pass runs a minute after the start.
                report["started"] = idle(server.pid)
                report["idle"] = idle(server.pid, wait_s=IDLE_FROM_S - 20)
            if "light" in phases:
                report["light"] = sustained(url, server, data, args, args.light_rate)
                # At rest again: the batch step process stops rest_after_s after its last
                # batch.
                report["rest"] = idle(server.pid, wait_s=defaults.rest_after_s + 10)
        finally:
            stop(server)
            if args.store_dir is None:
                shutil.rmtree(data, ignore_errors=True)
    if "ceiling" in runs:
        report |= {
            "ceiling_rps": runs["ceiling"].wrk.rps,
            "ceiling_p50": runs["ceiling"].wrk.p50_ms,
            "ceiling_p99": runs["ceiling"].wrk.p99_ms,
            "decode_rps": runs["decode"].wrk.rps,
            "node_rps": runs["node"].wrk.rps,
        }
        if "peak" in runs:
            report["peak_of_node"] = runs["peak"].wrk.rps / runs["node"].wrk.rps
    if "paused" in runs:
        report["paused_rps"] = runs["paused"].wrk.rps
    report["loop_us_per_request"] = {name: run.loop_us for name, run in runs.items()}
    report["loop_busy"] = {name: run.loop_busy for name, run in runs.items()}
    shown = {
        k: {n: v for n, v in r.items() if n != "samples"}
        for k, r in report.items()
        if isinstance(r, dict)
    }
    print(json.dumps({**report, **shown}, indent=1))
    if args.no_write or phases != set(PHASES):
        return 0
    ceiling, decode, paused = runs["ceiling"].wrk, runs["decode"].wrk, runs["paused"].wrk
    peak, node_rps = runs["peak"].wrk, runs["node"].wrk.rps
    default, small = report["sustained"], report["sustained_small_memory"]
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "ingest-throughput.svg").write_text(
        bars(
            "Beacons/s (wrk pinned to CPU 1)",
            "requests/s",
            [
                ("bare ASGI ceiling", ceiling.rps),
                ("Node bare http", node_rps),
                ("bare + decode", decode.rps),
                ("openrum serve, writes paused", paused.rps),
                ("openrum serve (peak)", peak.rps),
                (f"sustained target {args.rate:,}", default["rate"]),
            ],
        )
    )
    (PLOTS / "ingest-sustained.svg").write_text(
        lines(
            f"Sustained {args.rate:,}/s: RSS in MB (server and children), queue in 1000s",
            "seconds",
            "MB / beacons (thousands)",
            [
                ("RSS, defaults", [(t, r) for t, r, _ in default["samples"]]),
                ("queue, defaults", [(t, q / 1000) for t, _, q in default["samples"]]),
                ("RSS, small memory", [(t, r) for t, r, _ in small["samples"]]),
                ("queue, small memory", [(t, q / 1000) for t, _, q in small["samples"]]),
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
    small_settings = ", ".join(f"`{k}` = {int(v):,}" for k, v in SMALL.items())

    def stage(name: str, label: str) -> str:
        run = runs[name]
        return (
            f"| {label} | {run.wrk.rps:,.0f} | {run.wrk.rps / ceiling.rps:.0%} | "
            f"{run.loop_us:.1f} µs | {run.loop_busy:.0%} |"
        )

    def every(r: dict[str, Any]) -> str:
        ok = r["stored_events"] == r["accepted_events"] and r["queried"] == r["expected_queried"]
        return "yes" if ok else "NO"

    def paced(r: dict[str, Any], label: str) -> str:
        return (
            f"| `openrum serve`{label}, paced at {args.rate:,}/s for {args.seconds} s "
            f"({r['connections']:,} connections, each waiting {r['delay_ms']:.0f} ms after an "
            f"answer: set by two 5 s calibration runs) | {r['rate']:,.0f} accepted | "
            f"{r['p50']:.2f} ms | {r['p99']:.2f} ms |"
        )

    def outcome(r: dict[str, Any]) -> str:
        return f"""{r["accepted"]:,.0f} beacons ({r["accepted_events"]:,.0f} events) accepted,
{r["stored_events"]:,.0f} events stored; the query API counts {r["queried"]:,.0f} actions + errors
for {r["expected_queried"]:,.0f} expected (beside those stored before) — every accepted event
stored: **{every(r)}**. Largest write queue: {r["max_queue"]:,.0f} beacons (the spool held
{r["max_spool_mb"]:,.0f} MB at most); drained {r["drain_s"]:.1f} s after the load stopped. Peak RSS
(VmHWM) of the server process: **{r["server_rss_mb"]:.0f} MB**; of the server and its child processes (batch step, spool fsync
helper, resource tracker), summed: {r["peak_rss_mb"]:.0f} MB. Their physical memory — the
proportional set size summed, which counts once the library pages the processes share
(Python's and pyarrow's among them) — peaked at {r["peak_pss_mb"]:.0f} MB (sampled every second of the
sustained phase and the drain)."""

    def memory(
        started: dict[str, Any],
        idle: dict[str, Any],
        light: dict[str, Any],
        rest: dict[str, Any],
        store: dict[str, float],
    ) -> str:
        roles = sorted(
            set(started["by_process"])
            | set(idle["by_process"])
            | set(light["peak_pss_by_process"])
            | set(rest["by_process"])
        )

        def mb(d: dict[str, float], role: str) -> str:
            return f"{d[role]:,.0f} MB" if role in d else "—"

        rows = "\n".join(
            f"| {role} | {mb(started['by_process'], role)} | {mb(idle['by_process'], role)} | "
            f"{mb(light['peak_pss_by_process'], role)} | {mb(rest['by_process'], role)} |"
            for role in roles
        )
        return f"""Memory on a store of {store["actions"]:,.0f} actions ({store["file_mb"]:,.0f} MB,
bench/query's generated week), default settings: PSS summed over the server and its child
processes. Just started (sampled every second for 10 s from 10 s after the start, the batch step
process ready for the first beacon): median {started["median_pss_mb"]:.0f} MB. Idle, at rest
(sampled every second for 10 s from {IDLE_FROM_S} s after the start, once the first retention
pass, a minute after the start, is done; the batch step process stops once no batch came for
`rest_after_s`, {defaults.rest_after_s:.0f} s, and the store gives back its block cache): median
**{idle["median_pss_mb"]:.0f} MB**, at most
{idle["max_pss_mb"]:.0f} MB (target ≤ 200 MB). Paced
at {args.light_rate:,}/s for {args.seconds} s ({light["rate"]:,.0f} accepted/s, p99
{light["p99"]:.2f} ms; every accepted event stored: **{every(light)}**; largest write queue
{light["max_queue"]:,.0f} beacons, drained {light["drain_s"]:.1f} s after the load stopped):
median **{light["median_pss_mb"]:.0f} MB**, peak {light["peak_pss_mb"]:.0f} MB (target ≤ 300 MB).
At rest again after that load (sampled for 10 s from {defaults.rest_after_s + 10:.0f} s after
the drain): median **{rest["median_pss_mb"]:.0f} MB**.

| process | just started (median) | idle, at rest (median) | at {args.light_rate:,}/s (at the summed peak) | at rest after the load (median) |
|---|---:|---:|---:|---:|
{rows}"""

    write_section(
        "ingest",
        f"""
## Ingest (`python -m bench.ingest`)

{machine()}. Server: `openrum serve`, one worker (uvicorn + httptools + uvloop){pinning};
DuckDB store memory (`store_memory_mb`): {store_memory_mb} MB{memory_note}, checkpoints every
{defaults.store_checkpoint_mb} MB of write-ahead log (`store_checkpoint_mb`);
load: `wrk -t1 -c{args.connections}` pinned to CPU 1 with `bench/ingest/beacon.lua` (unique
beacons of {EVENTS_PER_BEACON} events, ~1.4 KB: a load action with Navigation Timing and vitals,
two xhr actions, a JavaScript error and a rage click). The sustained phase runs twice: on the
server of the peak phase (default settings), then on a new server set for a small memory
({small_settings}).

| run | requests/s | p50 latency | p99 latency |
|---|---:|---:|---:|
| bare raw-ASGI endpoint (read + discard: the ceiling) | {ceiling.rps:,.0f} | {ceiling.p50_ms:.2f} ms | {ceiling.p99_ms:.2f} ms |
| Node's bare `http` server (read + discard: `bench/ingest/bare_node.mjs`) | {node_rps:,.0f} | {runs["node"].wrk.p50_ms:.2f} ms | {runs["node"].wrk.p99_ms:.2f} ms |
| `openrum serve`, full load for {args.peak_seconds} s | {peak.rps:,.0f} ({share:.0%} of the ceiling, **{peak.rps / node_rps:.2f}× Node's bare server**; target ≥ 1.0×) | {peak.p50_ms:.2f} ms | {peak.p99_ms:.2f} ms |
{paced(default, "")}
{paced(small, ", small memory")}

Sustained phase, default settings: {outcome(default)}

Sustained phase, small memory: {outcome(small)}

{memory(report["started"], report["idle"], report["light"], report["rest"], report["store"])}

Non-2xx answers at full load: {peak.non_2xx:,}.

Where a request's time goes: each endpoint at full load for {args.peak_seconds} s, with the CPU
time its event loop (the server process's main thread) used per request, and the share of the
run the loop was on a CPU.

| endpoint | requests/s | of the ceiling | event-loop CPU per request | loop on a CPU |
|---|---:|---:|---:|---:|
{stage("ceiling", "bare raw-ASGI endpoint (the ceiling)")}
{stage("node", "Node's bare `http` server (its one event loop)")}
{stage("decode", "the same, decoding each body as the collector does (`bench/ingest/bare.py`)")}
{stage("paused", "`openrum serve`, store writes paused (SIGUSR1): the whole request, spool included, without the store's work beside it")}
{stage("peak", "`openrum serve`")}

At 60% of the ceiling ({0.6 * ceiling.rps:,.0f}/s), one event loop has
{1e6 / (0.6 * ceiling.rps):.1f} µs of CPU per request at most. Non-2xx answers with writes paused:
{paused.non_2xx:,}; to the decoding endpoint: {decode.non_2xx:,}.

![throughput](benchmarks/ingest-throughput.svg)
![sustained](benchmarks/ingest-sustained.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
