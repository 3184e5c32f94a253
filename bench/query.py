"""bench/query: the dashboard's panel queries at 1M and 10M actions on the embedded DuckDB store.

Run: ``.venv/bin/python -m bench.query [--sizes 1000000 10000000] [--older-rate 1.0]``. Rows are
generated inside DuckDB with SQL (skewed pages, browsers, devices, countries and releases;
log-normal timings): a size's actions spread over the 7 days before NOW, and the 23 days before
those at ``--older-rate`` times that daily rate (1.0: the same traffic every day; less to keep the
generation short on a small machine, said in the report), in a real store file with its real
schema. Then every query the dashboard sends is run through the query API's compiler
(``run_query``) for a 7-day view and for a 30-day view ending at the same NOW, three times each,
and the median time is reported. Target (issue 23): every panel ≤ 150 ms at 10M actions and
≤ 300 ms at 100M (7-day range); the 30-day range is reported beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from bench.report import machine, write_section
from openrum.query.model import Query
from openrum.query.rollup_duckdb import TABLES
from openrum.query.sql import run_query
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import StoreError
from openrum.store.duckdb import SESSION_KEY, DuckDBStore
from openrum.web import actions, distribution, errors, sessions
from openrum.web.scope import Scope

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
WEEK = {"start": "2026-11-13T12:00:00Z", "end": "2026-11-20T12:00:00Z"}
MONTH_START = "2026-10-21T12:00:00Z"  # 30 days before NOW
RANGES = {"7 days": WEEK["start"], "30 days": MONTH_START}
OLDER_DAYS = 23  # the days of the 30-day range before the week

# name → the query body the dashboard sends (web/src/pages/*.js), for a 7-day range.
_CARD = ["{v}:p75", "{v}:good_share", "{v}:needs_improvement_share", "{v}:poor_share"]
_LOADS = [["action_type", "is", "load"]]
PANELS: dict[str, dict[str, Any]] = {
    "overview: totals": {
        "metrics": ["page_views", "count", "sessions", "apdex", "errors", "error_sessions"]
    },
    **{
        f"overview: {v} card": {"metrics": [m.format(v=v) for m in _CARD]}
        for v in ("lcp", "inp", "cls", "fcp", "ttfb")
    },
    "overview: time series (1h)": {
        "metrics": ["page_views", "duration:p50", "lcp:p50"],
        "interval": "1h",
        "limit": 5000,
    },
    "compare: by page": {
        "metrics": ["count", "page_views", "sessions", "duration:p50", "apdex"],
        "dimensions": ["page"],
        "order_by": "-count",
        "limit": 50,
    },
    "compare: sparklines, top 50 pages (1h)": {
        "metrics": ["duration:p50"],
        "dimensions": ["page"],
        "interval": "1h",
        "limit": 10000,
        "filters": [["page", "in", [f"/p{i}" for i in range(50)]]],
    },
    "compare: browser and version, filtered": {
        "metrics": ["count", "page_views", "sessions", "lcp:p75", "apdex"],
        "dimensions": ["browser", "browser_version"],
        "order_by": "-count",
        "filters": [["device", "is", "mobile"]],
        "limit": 50,
    },
    "map: by country": {
        "metrics": ["page_views", "sessions", "apdex", "duration:p50"],
        "dimensions": ["country"],
        "order_by": "-page_views",
        "limit": 300,
    },
    "map: regions of a country": {
        "metrics": ["page_views", "sessions", "apdex", "duration:p50"],
        "dimensions": ["region"],
        "filters": [["country", "is", "DE"]],
        "order_by": "-page_views",
        "limit": 300,
    },
    "performance: waterfall": {
        "metrics": [
            f"{p}:p50"
            for p in ("redirect", "dns", "tcp", "tls", "request", "response", "dom_processing")
        ]
        + ["count"],
        "filters": _LOADS,
    },
    "performance: server/network/frontend (1h)": {
        "metrics": ["server_time:p50", "network_time:p50", "frontend_time:p50"],
        "interval": "1h",
        "limit": 5000,
        "filters": _LOADS,
    },
    "performance: key user actions": {
        "metrics": ["count", "duration:p50", "duration:p90", "apdex"],
        "dimensions": ["action_name", "action_type"],
        "filters": [["action_type", "in", ["xhr", "custom"]]],
        "order_by": "-count",
        "limit": 10,
    },
    "overview: live sessions": {"metrics": ["live_sessions"]},
    "overview: UX score": {"metrics": ["sessions"], "dimensions": ["ux_score"]},
    "errors: over time by type (1h)": {
        "metrics": ["errors"],
        "dimensions": ["error_type"],
        "interval": "1h",
        "limit": 10000,
    },
}
# The dashboard's own endpoints (openrum/web/*.py), called as the routes call them.
ENDPOINTS: dict[str, Callable[[DuckDBStore, Scope, Settings], Any]] = {
    "overview: load-time histogram (/distribution)": lambda st, sc, se: distribution.histogram(
        st, sc.narrowed("action_type", "load"), "duration", 40, se
    ),
    "performance: LCP histogram (/distribution)": lambda st, sc, se: distribution.histogram(
        st, sc, "lcp", 40, se
    ),
    "actions: table (/actions)": lambda st, sc, se: actions.table(st, sc, se, 200),
    "errors: groups (/errors)": lambda st, sc, se: errors.groups(st, sc, 100, settings=se),
    "errors: one group (/errors/{fp})": lambda st, sc, se: errors.detail(st, sc, "fp7"),
    "sessions: list (/sessions)": lambda st, sc, se: sessions.list_sessions(
        st, sessions.Listing(sc, "all"), se
    ),
}

GENERATE = """
INSERT INTO actions BY NAME
SELECT i::UBIGINT AS eid, 'bench' AS app,
       TIMESTAMP '{t0}' + to_milliseconds(((i - {first}) * {span_ms} // {n})::BIGINT) AS time,
       TIMESTAMP '{t0}' + to_milliseconds(((i - {first}) * {span_ms} // {n})::BIGINT) AS received,
       's' || (i // 5) AS session_id, {session_key},
       'p' || i AS page_view_id, 1 AS seq, 'a' AS event_id,
       CASE WHEN h % 10 < 6 THEN 'load' WHEN h % 10 < 8 THEN 'route_change' ELSE 'xhr' END
           AS action_type,
       'action ' || (h % 40) AS action_name,
       'https://shop.example/p' || (h % 300) AS url,
       '/p' || CASE WHEN h % 100 < 50 THEN h % 10 ELSE h % 300 END AS page,
       -- timings in whole ms, as the batch step stores them
       round(d) AS duration, round(d * 1.3) AS lcp, (h % 1000) / 4000.0 AS cls,
       50 + h % 400 AS inp, round(d * 0.6) AS fcp, round(d * 0.15) AS ttfb,
       (h % 7)::DOUBLE AS dns, (h % 13)::DOUBLE AS tcp, (h % 11)::DOUBLE AS tls,
       round(d * 0.12) AS request, round(d * 0.03) AS response,
       round(d * 0.5) AS dom_processing, round(d * 0.55) AS dom_interactive,
       round(d * 0.6) AS dom_content_loaded, round(d * 0.95) AS dom_complete,
       round(d) AS load_event_end, round(d * 0.12) AS server_time,
       round(d * 0.08) AS network_time, round(d * 0.8) AS frontend_time,
       0 AS long_tasks, 0.0 AS long_task_ms, 1 AS requests,
       0 AS errors,
       CASE WHEN d <= 3000 THEN 'S' WHEN d <= 12000 THEN 'T' ELSE 'F' END AS apdex,
       1.0 AS weight, '0.1.0' AS agent_version,
       ['Chrome', 'Chrome', 'Chrome', 'Safari', 'Edge', 'Firefox', 'Samsung Internet'][h % 7 + 1]
           AS browser,
       (120 + h % 12)::VARCHAR AS browser_version,
       ['Windows', 'Android', 'iOS', 'Mac OS X', 'Linux'][h % 5 + 1] AS os, '10' AS os_version,
       ['desktop', 'desktop', 'mobile', 'mobile', 'tablet'][(h // 7) % 5 + 1] AS device,
       'real' AS user_type,
       ['US', 'US', 'DE', 'GB', 'IN', 'FR', 'BR', 'JP'][(h // 3) % 8 + 1] AS country,
       'region ' || (h // 24) % 12 AS region, 'city ' || (h // 24) % 60 AS city,
       '4g' AS connection, ['2026.11.1', '2026.11.2', '2026.11.3'][((i - {first}) * 3 // {n}) + 1] AS release
FROM (SELECT i, (hash(i) % 1000000007)::BIGINT AS h,
             exp(7.2 + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS d
      FROM range({start}, {end}) t(i))
"""
ERRORS = """
INSERT INTO errors BY NAME
SELECT eid, app, time, received, session_id, session_key, page_view_id, 'e' AS event_id,
       NULL AS action_event_id, CASE WHEN eid % 3 = 0 THEN 'request' ELSE 'js' END AS error_type,
       'TypeError' AS error_name, 'message ' || (eid % 25) AS message,
       'fp' || (eid % 25) AS fingerprint, NULL AS stack, NULL AS source, NULL AS line,
       NULL AS col, NULL AS status, 1 AS count, url, page, agent_version, browser,
       browser_version, os, os_version, device, user_type, country, region, city, lat, lon,
       connection, release
FROM actions WHERE eid % 40 = 0
"""

# One session row per generated session (5 actions each), as the session closer leaves them:
# closed with a duration, the errors of its actions (ERRORS) and a UX score, except those seen
# in the last 30 minutes (live). In the order of their starts, as the store writes them: a
# session's row goes in at its first touch (the closer updates it in place).
SESSIONS = """
INSERT INTO sessions BY NAME
SELECT app, session_id, min(time) AS start, max(time) AS last_seen, max(received) AS last_received,
       arg_min(page, time) AS entry_page, arg_max(page, time) AS exit_page, 1.0 AS weight,
       any_value(browser) AS browser, any_value(os) AS os, any_value(device) AS device,
       any_value(country) AS country, any_value(release) AS release,
       max(time) < TIMESTAMP '2026-11-20 11:30:00' AS ended,
       max(time) < TIMESTAMP '2026-11-20 11:30:00' AS closed,
       epoch_ms(max(time)) - epoch_ms(min(time)) AS duration, count(*) AS actions,
       count(*) FILTER (WHERE eid % 40 = 0) AS errors, 0 AS rage_clicks, count(*) <= 1 AS bounce,
       ['satisfying', 'satisfying', 'tolerable', 'frustrating'][(hash(session_id) % 4)::BIGINT + 1] AS ux_score
FROM actions GROUP BY app, session_id ORDER BY start
"""
# The closed ones scored frustrating with errors, as the closer adds them (migration 019).
FRUSTRATED = """
INSERT INTO session_frustrated
SELECT app, start, md5_number_lower(session_id) FROM sessions
WHERE closed AND ux_score = 'frustrating' AND errors > 0 ORDER BY start
"""


def older_actions(n: int, rate: float) -> int:
    """How many actions the 23 days before the week hold at ``rate`` times its daily rate."""
    return round(n * OLDER_DAYS / 7 * rate)


def fill(store: DuckDBStore, n: int, older: float = 0.0) -> tuple[float, float, int]:
    """Generate ``n`` actions over the week before NOW, and ``older_actions(n, older)`` over the
    23 days before it (stored first, with eids from ``n`` up: rows go in in about the order of
    their time, as ingest writes them); then recount the rollups from them the way the store's
    migration does (``rebuild_rollups``; ingest keeps them per batch instead). Returns the
    seconds each took and the bytes the rollups added to the file."""
    began = time.perf_counter()
    con = store._con
    step = 2_000_000
    m = older_actions(n, older)
    spans = [
        # (first eid, how many, the first instant, span in ms)
        (n, m, "2026-10-21 12:00:00", OLDER_DAYS * 86_400_000),
        (0, n, "2026-11-13 12:00:00", 7 * 86_400_000),
    ]
    for first, count, t0, span in spans:
        for start in range(first, first + count, step):
            con.execute(
                GENERATE.format(
                    session_key=SESSION_KEY,
                    n=count,
                    first=first,
                    t0=t0,
                    span_ms=span,
                    start=start,
                    end=min(start + step, first + count),
                )
            ).fetchall()
    con.execute(ERRORS).fetchall()
    # Sorting 33M sessions by start (at 100M) takes more than the store's memory limit: the
    # generation has more (it is not what is measured).
    con.execute("SET memory_limit = '4GB'").fetchall()
    con.execute(SESSIONS).fetchall()
    con.execute(f"SET memory_limit = '{store._config['memory_limit']}'").fetchall()
    con.execute(FRUSTRATED).fetchall()
    con.execute("CHECKPOINT").fetchall()
    generated = time.perf_counter()
    before = Path(store.path).stat().st_size
    store.rebuild_rollups()
    con.execute("CHECKPOINT").fetchall()
    rollup_bytes = Path(store.path).stat().st_size - before
    return generated - began, time.perf_counter() - generated, rollup_bytes


def rollup_rows(store: DuckDBStore) -> int:
    return sum(int(store.select(f"SELECT count(*) FROM {t}", [])[1][0][0]) for t in TABLES)


RECENT = "2026-11-20 06:00:00"  # the generated week's last six hours: what live ingest writes
# Batches measured: (actions per batch, how many): about one busy flush, and a flush at the
# sustained ingest target (10,000 beacons/s of about 3 actions each).
WRITE_BATCHES = ((1_000, 5), (30_000, 1))


def write_cost(store: DuckDBStore, n: int, size: int, count: int) -> tuple[float, float, float]:
    """µs per action of writing ``count`` batches of ``size`` new actions into the filled store:
    the plain insert alone (what a write cost before rollups and the look-up of re-sent events,
    rolled back), then ``store.write`` (look-up, insert and rollups), then the same actions again
    with a higher seq (each replaces a stored version, whose contribution the rollups take out).
    Medians over the batches."""
    con = store._con
    plain: list[float] = []
    new: list[float] = []
    replaced: list[float] = []
    for i in range(count):
        # New eids (above every one used so far) for recent actions, as live ingest writes them.
        # As a batch comes: without the session number the store adds (migration 017).
        rows = con.sql(
            "SELECT * EXCLUDE (session_key) REPLACE (eid + (SELECT max(eid) + 1 FROM actions) "
            "AS eid) FROM actions "
            f"WHERE time >= TIMESTAMP '{RECENT}' AND eid < {n} ORDER BY eid "
            f"LIMIT {size} OFFSET {i * size}"
        ).to_arrow_table()
        con.execute("BEGIN")
        con.register("batch", rows)
        began = time.perf_counter()
        con.execute(f"INSERT INTO actions BY NAME SELECT *, {SESSION_KEY} FROM batch").fetchall()
        plain.append(time.perf_counter() - began)
        con.unregister("batch")
        con.execute("ROLLBACK")
        again = rows.set_column(
            rows.schema.get_field_index("seq"), "seq", pa.array([2] * rows.num_rows, pa.int64())
        )
        for kind, batch in ((new, rows), (replaced, again)):
            began = time.perf_counter()
            store.write(Batch(actions=batch))
            kind.append(time.perf_counter() - began)
    p, w, r = (statistics.median(t) / rows.num_rows * 1e6 for t in (plain, new, replaced))
    return p, w, r


def _query(body: dict[str, Any], start: str = WEEK["start"]) -> Query:
    if start == MONTH_START and body.get("interval") == "1h":
        # The dashboard's interval over 30 days (web/src/state.js's interval(): hourly up to
        # about 200 points, daily past that).
        body = {**body, "interval": "1d"}
    return msgspec.convert({"app": "bench", "from": start, "to": WEEK["end"], **body}, Query)


def target_ms(n: int) -> int:
    """The 7-day range's target per panel: 150 ms up to 10M actions, 300 ms above."""
    return 150 if n <= 10_000_000 else 300


def _time(fn: Callable[[], Any]) -> float:
    """Median of three runs in ms; infinity when the store could not answer (memory bound)."""
    times = []
    for _ in range(3):
        t = time.perf_counter()
        try:
            fn()
        except StoreError:
            return math.inf
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _cell(ms: float, target: int | None) -> str:
    if math.isinf(ms):
        return "out of memory" + (" ✗" if target else "")
    return f"{ms:,.0f} ms" + (" ✗" if target is not None and ms > target else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--older-rate",
        type=float,
        default=1.0,
        help="the 23 days before the week, at this share of its daily rate",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    settings = Settings.load({}, environ={})
    # (panel, range) → size → ms
    results: dict[tuple[str, str], dict[int, float]] = {
        (name, r): {} for name in [*PANELS, *ENDPOINTS] for r in RANGES
    }
    end = dt.datetime(2026, 11, 20, 12)
    scopes = {
        r: Scope("bench", dt.datetime.fromisoformat(start.removesuffix("Z")), end, ())
        for r, start in RANGES.items()
    }
    notes = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.duckdb"
            open_store = functools.partial(
                DuckDBStore, path, memory_limit=f"{settings.store_memory_mb}MB"
            )
            store = open_store()
            took, rebuilt, rollup_bytes = fill(store, n, args.older_rate)
            older = older_actions(n, args.older_rate)
            size = path.stat().st_size
            rows = rollup_rows(store)
            writes = [(size, *write_cost(store, n, size, k)) for size, k in WRITE_BATCHES]
            # The queries run on the store opened again, its file written out to disk, as by a
            # server started on it; not in the process that has just generated it while the OS
            # writes its gigabytes out.
            store.close()
            os.sync()
            store = open_store()
            total = n + older
            notes.append(
                f"{n:,} actions in the 7-day range, and {older:,} over the 23 days before it "
                f"({args.older_rate:g} × the week's daily rate): {total:,} generated in "
                f"{took:.0f} s; file {size / 1e6:,.0f} MB "
                f"({size / total:.0f} bytes per action, errors and rollups included); rollups "
                f"{rows:,} rows, {rollup_bytes / 1e6:,.0f} MB more in the file "
                f"({rollup_bytes / total:.1f} bytes per action), recounted from the raw rows in "
                f"{rebuilt:.1f} s; writing recent actions (µs per action: the insert alone / "
                "with the rollups kept / each replacing a stored version with a higher seq): "
                + "; ".join(
                    f"batches of {size:,}: {p:,.0f} / {w:,.0f} / {r:,.0f}"
                    for size, p, w, r in writes
                )
            )
            for r, start in RANGES.items():
                calls: dict[str, Callable[[], Any]] = {
                    name: functools.partial(run_query, store, _query(body, start), settings, NOW)
                    for name, body in PANELS.items()
                }
                for name, call in ENDPOINTS.items():
                    calls[name] = functools.partial(call, store, scopes[r], settings)
                for name, fn in calls.items():
                    ms = results[name, r][n] = _time(fn)
                    print(f"{n:>11,} {r:7} {name:48} {ms:8.1f} ms", flush=True)
            store.close()
    if args.no_write:
        return 0
    head = "| panel | " + " | ".join(f"{n:,}, {r}" for n in args.sizes for r in RANGES) + " |"
    rule = "|---|" + "---:|" * (len(args.sizes) * len(RANGES))
    lines = []
    for name in [*PANELS, *ENDPOINTS]:
        cells = [
            _cell(results[name, r][n], target_ms(n) if r == "7 days" else None)
            for n in args.sizes
            for r in RANGES
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    over = [
        name
        for name in [*PANELS, *ENDPOINTS]
        if any(results[name, "7 days"][n] > target_ms(n) for n in args.sizes)
    ]
    count = len(PANELS) + len(ENDPOINTS)
    verdict = (
        "every panel within its target"
        if not over
        else f"{len(over)} of {count} panels over their target (✗)"
    )
    write_section(
        "query",
        "\n".join(
            [
                "## Dashboard queries (`python -m bench.query`)",
                "",
                f"{machine()}. The embedded DuckDB store (`store_memory_mb` = "
                f"{settings.store_memory_mb}), rows generated in SQL: a size's actions over the 7 "
                f"days before the queries' end, and the 23 days before those at "
                f"{args.older_rate:g} × that daily rate (a size names the week's actions). Each "
                "panel's query as the dashboard sends it, through the query compiler, for a "
                "7-day and a 30-day range ending at the same instant (over 30 days the dashboard "
                "asks for daily points where it asks for hourly ones over 7), on the store "
                "opened again after the generation (its file written out to disk), median of 3 "
                "runs. Target "
                "(7-day range): ≤ 150 ms per panel at 10M actions, ≤ 300 ms at 100M (the "
                f"earlier target was ≤ 300 ms at 10M) — {verdict}. The 30-day range has no "
                "target; it is reported beside it.",
                "",
                *[f"- {note}" for note in notes],
                "",
                head,
                rule,
                *lines,
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
