"""bench/query_clickhouse: the dashboard's panel queries on DuckDB and on ClickHouse (chdb).

Run: ``.venv/bin/python -m bench.query_clickhouse [--duckdb 10000000] [--chdb 10000000 100000000]``
(``--keep DIR`` keeps each chdb store there and measures it again on the next run instead of
generating it).
The panels and endpoints are bench/query.py's (what the dashboard sends for a 7-day view).
DuckDB's rows come from bench/query.py's generator; ClickHouse's from the same distribution
written in ClickHouse SQL (``numbers()``), inserted into ``actions`` in blocks of 5M with the
rollups' views detached, then each rollup filled with one INSERT … SELECT (the rows its view
writes insert by insert, once the background merges have folded them). Each panel: median of 3
runs after one warm-up, through ``run_query`` and the dashboard's endpoints (rollups wherever
they answer). Also: bytes stored per event on each engine. Target (issue 7): ≤ 300 ms per panel
at 100M actions on ClickHouse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.query import ENDPOINTS, NOW, PANELS, _query, _time, fill
from bench.report import machine, write_section
from openrum.query import rollup
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.clickhouse import ClickHouseStore, open_clickhouse, statements
from openrum.store.duckdb import DuckDBStore
from openrum.web.scope import Scope

# The generated dimensions of action ``i`` from ``h`` (its hash), shared by actions and sessions.
_TIME = "toDateTime64('2026-11-13 12:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv({i} * 604800000, {n}))"
_PAGE = "concat('/p', toString(if({h} % 100 < 50, {h} % 10, {h} % 300)))"
_BROWSER = (
    "['Chrome', 'Chrome', 'Chrome', 'Safari', 'Edge', 'Firefox', 'Samsung Internet'][{h} % 7 + 1]"
)
_OS = "['Windows', 'Android', 'iOS', 'Mac OS X', 'Linux'][{h} % 5 + 1]"
_DEVICE = "['desktop', 'desktop', 'mobile', 'mobile', 'tablet'][intDiv({h}, 7) % 5 + 1]"
_COUNTRY = "['US', 'US', 'DE', 'GB', 'IN', 'FR', 'BR', 'JP'][intDiv({h}, 3) % 8 + 1]"
_RELEASE = "['2026.11.1', '2026.11.2', '2026.11.3'][intDiv({i} * 3, {n}) + 1]"


def _dims(i: str, h: str, n: int) -> dict[str, str]:
    return {
        k: v.format(i=i, h=h, n=n)
        for k, v in (
            ("time", _TIME), ("page", _PAGE), ("browser", _BROWSER), ("os", _OS),
            ("device", _DEVICE), ("country", _COUNTRY), ("release", _RELEASE),
        )
    }  # fmt: skip


GENERATE = """
INSERT INTO actions (eid, app, time, received, session_id, page_view_id, seq, event_id,
    action_type, action_name, url, page, duration, lcp, cls, inp, fcp, ttfb, dns, tcp, tls,
    request, response, dom_processing, dom_interactive, dom_content_loaded, dom_complete,
    load_event_end, server_time, network_time, frontend_time, long_tasks, long_task_ms, requests,
    errors, apdex, weight, agent_version, browser, browser_version, os, os_version, device,
    user_type, country, region, city, connection, release)
SELECT number AS eid, 'bench' AS app, t AS time, t AS received,
       concat('s', toString(intDiv(number, 5))) AS session_id,
       concat('p', toString(number)) AS page_view_id, 1 AS seq, 'a' AS event_id,
       multiIf(h % 10 < 6, 'load', h % 10 < 8, 'route_change', 'xhr') AS action_type,
       concat('action ', toString(h % 40)) AS action_name,
       concat('https://shop.example/p', toString(h % 300)) AS url, {page} AS page,
       round(d) AS duration, round(d * 1.3) AS lcp, (h % 1000) / 4000.0 AS cls,
       toFloat64(50 + h % 400) AS inp, round(d * 0.6) AS fcp, round(d * 0.15) AS ttfb,
       toFloat64(h % 7) AS dns, toFloat64(h % 13) AS tcp, toFloat64(h % 11) AS tls,
       round(d * 0.12) AS request, round(d * 0.03) AS response,
       round(d * 0.5) AS dom_processing, round(d * 0.55) AS dom_interactive,
       round(d * 0.6) AS dom_content_loaded, round(d * 0.95) AS dom_complete,
       round(d) AS load_event_end, round(d * 0.12) AS server_time,
       round(d * 0.08) AS network_time, round(d * 0.8) AS frontend_time,
       0 AS long_tasks, 0.0 AS long_task_ms,
       1 AS requests, 0 AS errors,
       multiIf(d <= 3000, 'S', d <= 12000, 'T', 'F') AS apdex, 1.0 AS weight,
       '0.1.0' AS agent_version, {browser} AS browser, toString(120 + h % 12) AS browser_version,
       {os} AS os, '10' AS os_version, {device} AS device, 'real' AS user_type,
       {country} AS country, concat('region ', toString(intDiv(h, 24) % 12)) AS region,
       concat('city ', toString(intDiv(h, 24) % 60)) AS city, '4g' AS connection,
       {release} AS release
FROM (SELECT number, cityHash64(number) % 1000000007 AS h, {time} AS t,
             exp(7.2 + 0.6 * sqrt(-2 * log(1 - randCanonical()))
                 * cos(2 * pi() * randCanonical())) AS d
      FROM numbers({start}, {count}))
SETTINGS max_insert_threads = 2
"""
ERRORS = """
INSERT INTO errors (eid, app, time, received, session_id, page_view_id, event_id, error_type,
    error_name, message, fingerprint, count, url, page, agent_version, browser, browser_version,
    os, os_version, device, user_type, country, region, city, connection, release)
SELECT eid, app, time, received, session_id, page_view_id, 'e',
       if(eid % 3 = 0, 'request', 'js'), 'TypeError', concat('message ', toString(eid % 25)),
       concat('fp', toString(eid % 25)), 1, url, page, agent_version, browser, browser_version,
       os, os_version, device, user_type, country, region, city, connection, release
FROM actions WHERE eid % 40 = 0
"""
# As bench/query.py: one session per 5 actions (session k: actions 5k to 5k + 4), closed unless
# seen in the last 30 minutes, with the errors of its actions (one in 40: ERRORS) when closed;
# written from the same formulas as the actions, session by session.
_SESSIONS = """
SELECT 'bench' AS app, concat('s', toString(k)) AS session_id, {t0} AS start, {t1} AS last_seen,
       {p0} AS entry_page, {p1} AS exit_page, i1 - i0 + 1 AS n,
       last_seen < toDateTime64('2026-11-20 11:30:00', 3, 'UTC') AS over, h0, i0
FROM (SELECT number AS k, 5 * k AS i0, least(5 * k + 4, {last}) AS i1,
             cityHash64(i0) % 1000000007 AS h0, cityHash64(i1) % 1000000007 AS h1
      FROM numbers({start}, {count}))
"""
TOUCHES = """
INSERT INTO session_touches (app, session_id, start, last_seen, last_received, entry_page,
    exit_page, weight, ended, browser, os, device, country, release)
SELECT app, session_id, start, last_seen, last_seen, entry_page, exit_page, 1.0, over,
       {browser}, {os}, {device}, {country}, {release}
FROM ({sessions})
"""
CLOSES = """
INSERT INTO session_closes (app, session_id, start, last_seen, last_received, entry_page,
    exit_page, user_tag, ended, closed, end_reason, duration, actions, errors, rage_clicks, bounce,
    ux_score, user_type, weight)
SELECT app, session_id, start, last_seen, last_seen, entry_page, exit_page, NULL, true, true,
       'inactivity',
       toFloat64(toUnixTimestamp64Milli(last_seen) - toUnixTimestamp64Milli(start)), n,
       intDiv(i0 + n - 1, 40) - intDiv(i0 + 39, 40) + 1, 0, n <= 1,
       ['satisfying', 'satisfying', 'tolerable', 'frustrating'][cityHash64(session_id) % 4 + 1],
       'real', 1.0
FROM ({sessions}) WHERE over
"""
# What touches and the closer leave in `session_open`: the sessions not closed.
OPEN = "INSERT INTO session_open SELECT app, session_id, start FROM ({sessions}) WHERE NOT over"
OPEN_VIEW = (
    "CREATE MATERIALIZED VIEW IF NOT EXISTS session_open_mv TO session_open AS "
    "SELECT app, session_id, start FROM session_touches"
)


def fill_clickhouse(store: ClickHouseStore, n: int, block: int = 5_000_000) -> float:
    """Generate ``n`` actions, their errors and sessions; then fill each rollup with one INSERT …
    SELECT — what the views write insert by insert, folded as the background merges fold it —
    and leave the sessions not closed in ``session_open``, as the closer leaves it."""
    began = time.perf_counter()
    views = [
        s
        for m in rollup.MIGRATIONS
        for s in statements(rollup.ddl(m))
        if s.startswith("CREATE MATERIALIZED VIEW")
    ]
    views.append(OPEN_VIEW)
    for r in rollup.ROLLUPS:
        for table in (r.name, r.daily):
            store.t.command(f"DROP VIEW IF EXISTS {table}_mv")
    store.t.command("DROP VIEW IF EXISTS session_open_mv")
    for start in range(0, n, block):
        count = min(block, n - start)
        dims = _dims("number", "h", n)
        store.t.command(GENERATE.format(start=start, count=count, **dims))
        print(f"  {start + count:,} / {n:,} actions", flush=True)
    store.t.command(ERRORS)
    sessions = (n + 4) // 5
    for start in range(0, sessions, block):
        first, last = _dims("i0", "h0", n), _dims("i1", "h1", n)
        inner = _SESSIONS.format(
            t0=first["time"], t1=last["time"], p0=first["page"], p1=last["page"], last=n - 1,
            start=start, count=min(block, sessions - start),
        )  # fmt: skip
        store.t.command(TOUCHES.format(sessions=inner, **_dims("i0", "h0", n)))
        store.t.command(CLOSES.format(sessions=inner))
        store.t.command(OPEN.format(sessions=inner))
    for r in rollup.ROLLUPS:
        store.t.command(f"INSERT INTO {r.name} {rollup.hourly_sql(r)}")
        store.t.command(f"INSERT INTO {r.daily} {rollup.daily_sql(r)}")
    for view in views:
        store.t.command(view)
    store.t.command("OPTIMIZE TABLE errors FINAL")  # as after the background merges
    return time.perf_counter() - began


def stored_bytes(store: ClickHouseStore) -> tuple[int, int, int]:
    """Bytes on disk of the event tables, of the rollups (hourly and daily), and the number of
    events."""
    _, rows = store.select(
        "SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE active "
        "AND database = currentDatabase() GROUP BY table",
        [],
    )
    by = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    events = sum(by.get(t, (0, 0))[0] for t in ("actions", "errors", "user_events"))
    rollups = sum(v[0] for k, v in by.items() if k in rollup.TABLES)
    n = sum(by.get(t, (0, 0))[1] for t in ("actions", "errors"))
    return events, rollups, n


def run_panels(store: Any, settings: Settings, budget_s: float) -> dict[str, float]:
    """Each panel's median of 3 runs after a warm-up (ms); a panel whose warm-up takes longer
    than ``budget_s`` is reported from the warm-up alone."""
    scope = Scope("bench", dt.datetime(2026, 11, 13, 12), dt.datetime(2026, 11, 20, 12), ())
    calls: dict[str, Callable[[], Any]] = {
        name: functools.partial(run_query, store, _query(body), settings, NOW)
        for name, body in PANELS.items()
    }
    for name, call in ENDPOINTS.items():
        calls[name] = functools.partial(call, store, scope, settings)
    out = {}
    for name, fn in calls.items():
        began = time.perf_counter()
        try:
            fn()  # warm-up (and a failure shows here)
        except Exception as e:  # an endpoint this engine cannot answer: reported, not hidden
            print(f"  {name}: {type(e).__name__}: {str(e)[:160]}", flush=True)
            out[name] = math.nan
            continue
        warm = time.perf_counter() - began
        out[name] = warm * 1000 if warm > budget_s else _time(fn)
        print(f"  {store.engine:10} {name:48} {out[name]:8.1f} ms", flush=True)
    return out


def cell(ms: float) -> str:
    if math.isnan(ms):
        return "error ✗"
    if math.isinf(ms):
        return "out of memory ✗"
    return f"{ms:,.0f} ms" + (" ✗" if ms > 300 else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duckdb", type=int, nargs="*", default=[10_000_000])
    parser.add_argument("--chdb", type=int, nargs="*", default=[10_000_000, 100_000_000])
    parser.add_argument(
        "--budget-s",
        type=float,
        default=10.0,
        help="a panel slower than this is timed once, not three times",
    )
    parser.add_argument(
        "--section",
        default="query_clickhouse",
        help="the section of docs/benchmarks.md to write (a long run may get its own)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each chdb store in this directory, and measure one kept there by an earlier "
        "run instead of generating it again",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    settings = Settings.load({}, environ={})
    columns: list[tuple[str, dict[str, float]]] = []
    notes = []
    for n in args.duckdb:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.duckdb"
            store = DuckDBStore(path, memory_limit=f"{settings.store_memory_mb}MB")
            took, recount, rollup_bytes = fill(store, n)
            events = n + n // 40
            size = path.stat().st_size
            notes.append(
                f"DuckDB, {n:,} actions (+ {n // 40:,} errors, sessions): generated in "
                f"{took:.0f} s, rollups recounted in {recount:.0f} s; file {size / 1e6:,.0f} MB, "
                f"**{size / events:.0f} bytes per event** (sessions and rollups included; the "
                f"rollups {rollup_bytes / events:.1f})"
            )
            columns.append((f"DuckDB {n / 1e6:,.0f}M", run_panels(store, settings, args.budget_s)))
            store.close()
        if not args.no_write:
            report(args.section, columns, notes, args.budget_s)
    for n in args.chdb:
        tmp = str(args.keep / f"chdb-{n}") if args.keep else tempfile.mkdtemp(prefix="bench-chdb-")
        filled = Path(tmp) / "filled.json"  # written once the store is whole
        try:
            store = open_clickhouse(f"chdb:///{tmp}")
            if filled.exists():
                took = json.loads(filled.read_text())["seconds"]
                notes.append(
                    f"The {n:,}-action store was kept by an earlier run (`--keep`): measured "
                    "again, with the migrations since applied; its generation time is that run's."
                )
            else:
                took = fill_clickhouse(store, n)
                filled.write_text(json.dumps({"seconds": took}))
            events_bytes, rollup_bytes, events = stored_bytes(store)
            notes.append(
                f"ClickHouse (chdb), {n:,} actions (+ {n // 40:,} errors): generated and "
                f"inserted in {took:.0f} s; events {events_bytes / 1e6:,.0f} MB, **"
                f"{events_bytes / events:.0f} bytes per event**; rollups "
                f"{rollup_bytes / 1e6:,.1f} MB more ({rollup_bytes / events:.1f} bytes per event)"
            )
            print(notes[-1], flush=True)
            columns.append(
                (f"ClickHouse {n / 1e6:,.0f}M", run_panels(store, settings, args.budget_s))
            )
            store.close()
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        if not args.no_write:
            report(args.section, columns, notes, args.budget_s)
    return 0


def _arguments() -> str:
    """This run's arguments as docs show them: a kept store's directory is DIR."""
    args = sys.argv[1:]
    shown = ["DIR" if i and args[i - 1] == "--keep" else a for i, a in enumerate(args)]
    return "".join(" " + ("--keep=DIR" if a.startswith("--keep=") else a) for a in shown)


def report(
    section: str, columns: list[tuple[str, dict[str, float]]], notes: list[str], budget_s: float
) -> None:
    """Write the section of docs/benchmarks.md: the columns measured so far (a long run reports
    as it goes)."""
    names = list(columns[0][1]) if columns else []
    head = "| panel (7-day range) | " + " | ".join(c for c, _ in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [f"| {name} | " + " | ".join(cell(r.get(name, math.nan)) for _, r in columns) + " |"
            for name in names]  # fmt: skip
    biggest = [r for c, r in columns if c.startswith("ClickHouse")][-1:] or [{}]
    over = [k for k, v in biggest[0].items() if not v <= 300]
    verdict = (
        "every panel within 300 ms"
        if not over
        else f"{len(over)} of {len(biggest[0])} panels over 300 ms (✗): {', '.join(over)}"
    )
    write_section(
        section,
        "\n".join(
            [
                "## Dashboard queries on DuckDB and ClickHouse "
                f"(`python -m bench.query_clickhouse{_arguments()}`)",
                "",
                f"{machine()}. The panels of `bench.query`, on the embedded DuckDB store and on "
                "ClickHouse in process (chdb, the same engine as a server) with its rollups, rows "
                "generated in each engine's SQL over 7 days; median of 3 runs after a warm-up "
                f"(one run when the warm-up took over {budget_s:.0f} s). ClickHouse's rollups are "
                "filled with one INSERT … SELECT each from the generated rows: the rows their "
                "materialized views write insert by insert, once the background merges have "
                f"folded them. Last ClickHouse column — {verdict}.",
                "",
                *[f"- {note}" for note in notes],
                "",
                head,
                rule,
                *rows,
            ]
        ),
    )


if __name__ == "__main__":
    raise SystemExit(main())
