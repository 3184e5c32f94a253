"""bench/store_bytes: where the bytes of a store go, column by column, on DuckDB and ClickHouse.

Run: ``.venv/bin/python -m bench.store_bytes [--size 1000000] [--label after]``. The rows are
bench/query.py's (DuckDB) and bench/query_clickhouse.py's (ClickHouse, chdb) generated actions,
errors and sessions, in a real store of the current schema. DuckDB's bytes per column are the
blocks its segments take (``pragma_storage_info``: a segment runs to the next one in its block,
or to the block's end), ClickHouse's the compressed bytes of its active parts
(``system.columns``). Bytes per event are over the actions and errors; the rollups are reported
apart. Each run is kept under its label in docs/benchmarks/store_bytes.json, and the section
shows every label kept (a ``before`` and an ``after``). Targets (issue 23): ≤ 70 bytes per event
on DuckDB (events and sessions), ≤ 50 on ClickHouse (events).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.query import fill
from bench.query_clickhouse import fill_clickhouse
from bench.report import PLOTS, machine, write_section
from openrum.query import rollup, rollup_duckdb
from openrum.settings import Settings
from openrum.store.clickhouse import ClickHouseStore, open_clickhouse
from openrum.store.duckdb import DuckDBStore

RESULTS = PLOTS / "store_bytes.json"
_EVENTS = ("actions", "errors", "user_events")
TOP = 25  # columns listed per engine; the rest are summed in one line


def duckdb_columns(store: DuckDBStore) -> dict[str, dict[str, Any]]:
    """``table.column`` → {type, bytes} for every table of the store."""
    con = store._con
    block = int(con.sql("SELECT block_size FROM pragma_database_size()").fetchall()[0][0])
    tables = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()]
    segments: list[tuple[str, str, int, int, int]] = []
    types = {
        f"{t}.{c}": ty
        for t, c, ty in con.sql(
            "SELECT table_name, column_name, data_type FROM duckdb_columns()"
        ).fetchall()
    }
    for table in tables:
        for name, block_id, offset, extra in con.sql(
            "SELECT column_name, block_id, block_offset, len(additional_block_ids) "
            f"FROM pragma_storage_info('{table}') WHERE persistent AND block_id >= 0"
        ).fetchall():
            segments.append((table, name, block_id, offset, extra))
    # A segment's size: up to the next segment in its block, or the block's end.
    segments.sort(key=lambda s: (s[2], s[3]))
    out: dict[str, dict[str, Any]] = {}
    for i, (table, name, block_id, offset, extra) in enumerate(segments):
        following = segments[i + 1] if i + 1 < len(segments) else None
        end = following[3] if following and following[2] == block_id else block
        key = f"{table}.{name}"
        entry = out.setdefault(key, {"type": types.get(key, "?"), "bytes": 0})
        entry["bytes"] += end - offset + extra * block
    return out


def clickhouse_columns(store: ClickHouseStore) -> dict[str, dict[str, Any]]:
    """``table.column`` → {type, bytes} for every table of the store (active parts)."""
    _, rows = store.select(
        "SELECT table, name, type, data_compressed_bytes FROM system.columns "
        "WHERE database = currentDatabase() AND data_compressed_bytes > 0",
        [],
    )
    return {f"{t}.{c}": {"type": ty, "bytes": int(b)} for t, c, ty, b in rows}


def measure_duckdb(n: int, settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        store = DuckDBStore(path, memory_limit=f"{settings.store_memory_mb}MB")
        fill(store, n)
        columns = duckdb_columns(store)
        file_size = path.stat().st_size
        store.close()
    return {"columns": columns, "file": file_size, "rollups": set(rollup_duckdb.TABLES)}


def measure_clickhouse(n: int) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="bench-chdb-")
    try:
        store = open_clickhouse(f"chdb:///{tmp}")
        fill_clickhouse(store, n)
        for table in _EVENTS:  # as after the background merges
            store.t.command(f"OPTIMIZE TABLE {table} FINAL")
        columns = clickhouse_columns(store)
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"columns": columns, "rollups": set(rollup.TABLES)}


def summary(result: dict[str, Any], events: int) -> dict[str, Any]:
    """Bytes per event of the event tables, the session tables and the rollups."""
    rollups = result.pop("rollups")
    groups = {"events": 0, "sessions": 0, "rollups": 0, "other": 0}
    for key, entry in result["columns"].items():
        table = key.split(".")[0]
        group = (
            "events" if table in _EVENTS
            else "rollups" if table in rollups
            else "sessions" if table.startswith("session")
            else "other"
        )  # fmt: skip
        entry["group"] = group
        groups[group] += entry["bytes"]
    kept = {k: v for k, v in result["columns"].items() if v["group"] != "rollups"}
    per_event = {k: v / events for k, v in groups.items()}
    return {**result, "columns": kept, "events": events, "per_event": per_event}


def _short(kind: str) -> str:
    return kind if len(kind) <= 40 else kind[:37] + "…"


def table_md(engine: str, label: str, result: dict[str, Any]) -> list[str]:
    events = result["events"]
    per = result["per_event"]
    stored = [(k, v) for k, v in result["columns"].items() if v["group"] != "rollups"]
    stored.sort(key=lambda kv: -kv[1]["bytes"])
    lines = [
        f"**{engine}, {label}** — {events:,} events: events {per['events']:.1f} B/event, "
        f"sessions {per['sessions']:.1f}, together **{per['events'] + per['sessions']:.1f} "
        f"B/event**; rollups apart {per['rollups']:.1f} B/event"
        + (f"; file {result['file'] / events:.1f} B/event" if "file" in result else ""),
        "",
        "| column | type | bytes | B/event |",
        "|---|---|---:|---:|",
    ]
    for key, entry in stored[:TOP]:
        lines.append(
            f"| {key} | {_short(entry['type'])} | {entry['bytes']:,} | "
            f"{entry['bytes'] / events:.2f} |"
        )
    rest = sum(v["bytes"] for _, v in stored[TOP:])
    lines.append(f"| {len(stored) - TOP} other columns | | {rest:,} | {rest / events:.2f} |")
    return [*lines, ""]


TARGETS = {"DuckDB": ("events and sessions", 70.0), "ClickHouse": ("events", 50.0)}


def _stored(engine: str, result: dict[str, Any]) -> float:
    per = result["per_event"]
    return float(per["events"] + (per["sessions"] if engine == "DuckDB" else 0.0))


def totals_md(kept: dict[str, Any]) -> list[str]:
    """One line per engine: bytes per event under each label, against the target."""
    labels = list(kept)
    lines = [
        "| bytes per event | " + " | ".join(labels) + " | target |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for engine, (what, target) in TARGETS.items():
        cells = [kept[k].get(engine) for k in labels]
        if not any(cells):
            continue
        shown = [f"{_stored(engine, r):.1f}" if r else "" for r in cells]
        last = next(r for r in reversed(cells) if r)
        met = "✓" if _stored(engine, last) <= target else "✗"
        lines.append(f"| {engine}, {what} | " + " | ".join(shown) + f" | ≤ {target:.0f} {met} |")
        rollups = [f"{r['per_event']['rollups']:.1f}" if r else "" for r in cells]
        lines.append(f"| {engine}, rollups (apart) | " + " | ".join(rollups) + " | |")
    return [*lines, ""]


def report(size: int, kept: dict[str, Any], notes: dict[str, str]) -> None:
    body = [
        f"## Bytes per column (`python -m bench.store_bytes --size {size}`)",
        "",
        f"{size:,} generated actions (and one error per 40 actions; one session "
        "per 5 actions) of `bench.query` (DuckDB) and `bench.query_clickhouse` (ClickHouse, "
        "chdb, after the background merges); the rollups are counted apart. DuckDB: the blocks "
        "each column's segments take; ClickHouse: compressed bytes of the active parts. "
        "Bytes per event are over the actions and errors. The rollups' share falls as the "
        "store grows (their rows are per hour and key, holding few events at this size; "
        "`bench.query` at 10M: 12 B/event).",
        "",
        *[f"- {label}: {notes[label]}" for label in kept if label in notes],
        "",
        *totals_md(kept),
    ]
    for label, by_engine in kept.items():
        body.append(f"### {label}")
        body.append("")
        for engine in TARGETS:
            if engine in by_engine:
                body.extend(table_md(engine, label, by_engine[engine]))
    write_section("store_bytes", "\n".join(body))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--label", default="after", help="the name this run is kept under")
    parser.add_argument("--note", default="", help="what this label's store is (kept with it)")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "clickhouse"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    settings = Settings.load({}, environ={})
    n = args.size
    events = n + n // 40
    run: dict[str, Any] = {}
    if "duckdb" in args.engines:
        run["DuckDB"] = summary(measure_duckdb(n, settings), events)
    if "clickhouse" in args.engines:
        run["ClickHouse"] = summary(measure_clickhouse(n), events)
    for engine, result in run.items():
        print("\n".join(table_md(engine, args.label, result)), flush=True)
    if args.no_write:
        return 0
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    notes = kept.pop("notes", {})
    # What the label's store is (kept from an earlier run unless given), and where it ran.
    note = args.note or notes.get(args.label, "").rsplit(" (", 1)[0]
    notes[args.label] = f"{note} ({machine()})".strip()
    kept.setdefault(args.label, {}).update(run)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**kept, "notes": notes}, indent=1, sort_keys=True) + "\n")
    report(n, {k: kept[k] for k in sorted(kept, key=lambda k: k != "before")}, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
