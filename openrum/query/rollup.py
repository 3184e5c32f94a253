"""Rollups on ClickHouse: hourly aggregates that answer dashboard queries without the raw rows.

Each rollup is an AggregatingMergeTree table per application × hour × a few dimensions, filled
by a materialized view on every insert into ``actions`` (or ``errors``): counts and sums as
plain sums, minimum and maximum, a T-Digest state per measure for its percentiles and a
HyperLogLog-style state (``uniqCombined64``, exact for small sets) for distinct sessions. Their
DDL is generated here (``python -m openrum.query.rollup`` writes the migration
``openrum/store/sql/clickhouse/004_rollups.sql``; a test checks that the file is current).

``plan`` swaps a compiled query for one on rollups when they can answer it: every metric is one a
rollup keeps, every dimension and filter is a column of one rollup, the interval (if any) is a
whole number of hours, and percentiles may be approximate. The range's whole hours come from the
rollup; its ragged ends (a range from 09:41 to 17:12) from the raw table, merged into the same
states, so the answer covers exactly the range asked. Anything else runs on the raw tables.

The store keeps rollups exact for counts and sums: an event re-sent is not inserted again, and an
action replaced by a higher ``seq`` takes its older version's counts and sums out first
(``retract_sql``). Its minimum, maximum and percentile state cannot be taken out: a superseded
value may linger there (a T-Digest is an estimate anyway).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import Any

from openrum.query.model import (
    DIMENSIONS,
    INTERVALS,
    MEASURES,
    STATS,
    VITAL_THRESHOLDS,
    Metric,
    Query,
    Source,
    resolve_metric,
    time_range,
)
from openrum.settings import Settings

LEVELS = (0.5, 0.75, 0.9, 0.95, 0.99)  # percentile levels a T-Digest state answers
_DIGEST = f"quantilesTDigest({', '.join(map(str, LEVELS))})"


@dataclass(frozen=True)
class Rollup:
    name: str
    source: Source
    dims: tuple[str, ...]  # after app and hour
    # Measures with a T-Digest state (the costly column: a few kB per row and per insert).
    digests: tuple[str, ...] = ()


# The percentiles the dashboard shows by page, browser and country: load time and LCP. Other
# percentiles by those dimensions come from the raw table.
_KEY = ("duration", "lcp")
ROLLUPS: tuple[Rollup, ...] = (
    Rollup("actions_1h", "actions", ("action_type",), MEASURES),
    Rollup("actions_1h_page", "actions", ("action_type", "page"), _KEY),
    Rollup("actions_1h_env", "actions", ("action_type", "browser", "device", "country"), _KEY),
    Rollup("errors_1h", "errors", ("error_type",)),
)
TABLES = tuple(r.name for r in ROLLUPS)
# Columns NOT NULL in the event tables; every other dimension is nullable (a NULL in a key of
# the wrong type would make the view fail, and with it the insert).
_NOT_NULL_DIMS = {"action_type", "action_name", "page", "error_type"}


# -- DDL -------------------------------------------------------------------------------------------
def _columns(r: Rollup) -> list[tuple[str, str, str]]:
    """(name, type, expression over the raw table) of a rollup's value columns."""
    cols = [
        ("sessions", "AggregateFunction(uniqCombined64, String)", "uniqCombined64State(session_id)")
    ]
    if r.source == "errors":
        return [("errors", "SimpleAggregateFunction(sum, Int64)", "toInt64(sum(count))"), *cols]
    cols += [
        ("rows", "SimpleAggregateFunction(sum, Int64)", "toInt64(count())"),
        ("apdex_s", "SimpleAggregateFunction(sum, Int64)", "toInt64(countIf(apdex = 'S'))"),
        ("apdex_t", "SimpleAggregateFunction(sum, Int64)", "toInt64(countIf(apdex = 'T'))"),
        ("apdex_n", "SimpleAggregateFunction(sum, Int64)", "toInt64(count(apdex))"),
    ]
    for m in MEASURES:
        cols += [
            (f"{m}_n", "SimpleAggregateFunction(sum, Int64)", f"toInt64(count({m}))"),
            (
                f"{m}_sum",
                "SimpleAggregateFunction(sum, Float64)",
                f"toFloat64(sum(ifNull({m}, 0)))",
            ),
            (
                f"{m}_min",
                "SimpleAggregateFunction(min, Nullable(Float64))",
                f"min(toNullable(toFloat64({m})))",
            ),
            (
                f"{m}_max",
                "SimpleAggregateFunction(max, Nullable(Float64))",
                f"max(toNullable(toFloat64({m})))",
            ),
        ]
        if m in r.digests:  # the costly column: a few kB per row
            state = _DIGEST.replace("(", "State(", 1)
            value = f"toNullable(toFloat64({m}))"
            cols.append(
                (f"{m}_q", f"AggregateFunction({_DIGEST}, Nullable(Float64))", f"{state}({value})")
            )
    for v, (good, poor) in VITAL_THRESHOLDS.items():
        cols += [
            (
                f"{v}_good",
                "SimpleAggregateFunction(sum, Int64)",
                f"toInt64(countIf({v} <= {good}))",
            ),
            (f"{v}_poor", "SimpleAggregateFunction(sum, Int64)", f"toInt64(countIf({v} > {poor}))"),
        ]
    return cols


def _dim_type(d: str) -> str:
    return "LowCardinality(String)" if d in _NOT_NULL_DIMS else "LowCardinality(Nullable(String))"


def ddl() -> str:
    """The migration that creates every rollup and its materialized view."""
    out = [
        "-- Rollups for dashboard queries (generated by `python -m openrum.query.rollup`; do not",
        "-- edit): see openrum/query/rollup.py. Hourly aggregates per application and a few",
        "-- dimensions, filled by materialized views as events are inserted.",
        "",
    ]
    for r in ROLLUPS:
        cols = _columns(r)
        defs = ["    app LowCardinality(String)", "    hour DateTime('UTC')"]
        defs += [f"    {d} {_dim_type(d)}" for d in r.dims]
        defs += [f"    {n} {t}" for n, t, _ in cols]
        keys = ", ".join(("app", "hour", *r.dims))
        out += [
            f"CREATE TABLE IF NOT EXISTS {r.name} (",
            ",\n".join(defs),
            ") ENGINE = AggregatingMergeTree",
            "PARTITION BY toYYYYMM(hour)",
            f"ORDER BY ({keys})",
            "TTL hour + INTERVAL 400 DAY DELETE",
            "SETTINGS allow_nullable_key = 1;",
            "",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {r.name}_mv TO {r.name} AS",
            f"SELECT app, toStartOfHour(time) AS hour, {', '.join(r.dims)},",
            ",\n".join(f"       {e} AS {n}" for n, _, e in cols),
            f"FROM {r.source}",
            f"GROUP BY {keys};",
            "",
        ]
    return "\n".join(out)


def retract_sql() -> list[str]:
    """Statements taking the stored version of the actions whose eids are the one parameter
    (an array) out of every actions rollup's counts and sums."""
    out = []
    for r in ROLLUPS:
        if r.source != "actions":
            continue
        exprs = []
        for n, _, e in _columns(r):
            if n.endswith("_min") or n.endswith("_max"):
                exprs.append(f"CAST(NULL AS Nullable(Float64)) AS {n}")
            elif n.endswith("_q"):
                # An empty state of the column's type: every value NULL (skipped).
                state = _DIGEST.replace("(", "State(", 1)
                exprs.append(f"{state}(CAST(NULL, 'Nullable(Float64)')) AS {n}")
            elif n == "sessions":
                exprs.append(f"uniqCombined64StateIf(session_id, false) AS {n}")
            else:
                exprs.append(f"-{e} AS {n}")
        keys = ", ".join(("app", "hour", *r.dims))
        out.append(
            f"INSERT INTO {r.name} SELECT app, toStartOfHour(time) AS hour, {', '.join(r.dims)}, "
            + ", ".join(exprs)
            + f" FROM actions FINAL WHERE eid IN ? GROUP BY {keys}"
        )
    return out


# -- planning --------------------------------------------------------------------------------------
def _merge(m: Metric, settings: Settings) -> str | None:
    """How a metric reads from rollup columns, or None when no rollup keeps it."""
    if m.kind == "count":
        return "sum(rows)"
    if m.kind == "page_views":
        types = "('load', 'route_change')" if settings.route_changes_are_page_views else "('load')"
        return f"sumIf(rows, action_type IN {types})"
    if m.kind in ("sessions", "error_sessions"):
        return "uniqCombined64Merge(sessions)"
    if m.kind == "apdex":
        return "(sum(apdex_s) + sum(apdex_t) / 2.0) / nullif(sum(apdex_n), 0)"
    if m.kind == "errors":
        return "sum(errors)"
    if m.kind == "share" and m.measure and m.stat:
        v = m.measure
        part = {
            "good_share": f"sum({v}_good)",
            "needs_improvement_share": f"(sum({v}_n) - sum({v}_good) - sum({v}_poor))",
            "poor_share": f"sum({v}_poor)",
        }[m.stat]
        return f"{part} / nullif(sum({v}_n), 0)"
    if m.kind == "stat" and m.measure and m.stat:
        c, q = m.measure, STATS[m.stat]
        if m.stat == "avg":
            return f"sum({c}_sum) / nullif(sum({c}_n), 0)"
        if m.stat in ("min", "max"):
            return f"{m.stat}({c}_{m.stat})"
        if q in LEVELS and settings.query_approximate_percentiles:
            return f"{_DIGEST.replace('(', 'Merge(', 1)}({c}_q)[{LEVELS.index(q) + 1}]"
    return None


def _needs(m: Metric) -> list[str]:
    """The rollup columns a metric reads."""
    if m.kind == "count":
        return ["rows"]
    if m.kind == "page_views":
        return ["rows"]
    if m.kind in ("sessions", "error_sessions"):
        return ["sessions"]
    if m.kind == "apdex":
        return ["apdex_s", "apdex_t", "apdex_n"]
    if m.kind == "errors":
        return ["errors"]
    assert m.measure is not None
    if m.kind == "share":
        return [f"{m.measure}_n", f"{m.measure}_good", f"{m.measure}_poor"]
    suffix = {"avg": ["_sum", "_n"], "min": ["_min"], "max": ["_max"]}.get(m.stat or "", ["_q"])
    return [m.measure + s for s in suffix]


def _choose(source: Source, names: set[str], needed: list[str]) -> Rollup | None:
    for r in ROLLUPS:  # smallest first
        has = {n for n, _, _ in _columns(r)}
        if r.source == source and names <= set(r.dims) and set(needed) <= has:
            return r
    return None


def _hour_up(t: dt.datetime) -> dt.datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + dt.timedelta(hours=1)


def plan(
    q: Query, settings: Settings, now: dt.datetime, bucket: Any, sql: str, params: list[Any]
) -> tuple[str, list[Any]] | None:
    """The SQL and parameters answering ``q`` (already validated by the compiler) from rollups,
    or None when they cannot. ``bucket(column, seconds)`` is the dialect's time bucket."""
    from openrum.query.sql import _order, _quote  # the compiler's ORDER BY, kept identical

    if q.interval is not None and INTERVALS[q.interval] % 3600:
        return None
    metrics = [resolve_metric(name) for name in dict.fromkeys(q.metrics)]
    used = list(q.dimensions) + [f[0] for f in q.filters]
    # A session-only dimension makes `sessions` count the sessions table: not a rollup's.
    if any(name in DIMENSIONS and "actions" not in DIMENSIONS[name] for name in used):
        return None
    start, end = time_range(q, now, settings.query_default_hours)
    h0, h1 = _hour_up(start), end.replace(minute=0, second=0, microsecond=0)
    if h0 >= h1:
        return None
    dims = list(dict.fromkeys(q.dimensions))
    keys = (["time"] if q.interval else []) + dims
    sources: dict[Source, list[Metric]] = {}
    for m in metrics:
        sources.setdefault(m.source, []).append(m)
    subqueries: list[str] = []
    out_params: list[Any] = []
    for source, ms in sources.items():
        if any(_merge(m, settings) is None for m in ms):
            return None
        if any(DIMENSIONS[n][source] != n for n in used):
            return None
        needed = list(dict.fromkeys(c for m in ms for c in _needs(m)))
        rollup = _choose(source, set(used), needed)
        if rollup is None:
            return None
        by_name = {n: e for n, _, e in _columns(rollup)}
        where, where_params = _filters(q)
        parts = []
        for table in ("rollup", "raw"):
            tcol = "hour" if table == "rollup" else "time"
            sel = [f"{bucket(tcol, INTERVALS[q.interval])} AS time"] if q.interval else []
            if source == "actions":
                sel.append("action_type")
            sel += [d for d in dims if d != "action_type" or source != "actions"]
            if table == "rollup":
                sel += needed
                cond = ["app = ?", "hour >= ?", "hour < ?", *where]
                out_params += [q.app, h0, h1, *where_params]
                parts.append(
                    f"SELECT {', '.join(sel)} FROM {rollup.name} WHERE {' AND '.join(cond)}"
                )
            else:
                group = list(range(1, len(sel) + 1))
                sel += [f"{by_name[c]} AS {c}" for c in needed]
                cond = ["app = ?", "((time >= ? AND time < ?) OR (time >= ? AND time < ?))", *where]
                out_params += [q.app, start, h0, h1, end, *where_params]
                grouping = f" GROUP BY {', '.join(map(str, group))}" if group else ""
                parts.append(
                    f"SELECT {', '.join(sel)} FROM {source} WHERE {' AND '.join(cond)}{grouping}"
                )
        select = [*keys, *(f'{_merge(m, settings)} AS "{m.name}"' for m in ms)]
        group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
        subqueries.append(
            f"SELECT {', '.join(select)} FROM ({' UNION ALL '.join(parts)}){group_by}"
        )
    if len(subqueries) == 1:
        body = subqueries[0]
    else:
        join = f"FULL OUTER JOIN {{}} USING ({', '.join(keys)})" if keys else "CROSS JOIN {}"
        body = "SELECT * FROM (" + subqueries[0] + ") AS s0"
        for i, sub in enumerate(subqueries[1:], 1):
            body += " " + join.format(f"({sub}) AS s{i}")
    columns = keys + [m.name for m in metrics]
    order = _order(q, columns, metrics)
    text = (
        f"SELECT {', '.join(_quote(c) for c in columns)} FROM ({body}) AS r{order} LIMIT {q.limit}"
    )
    return text, out_params


def _filters(q: Query, contains: Any = None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for name, op, value in q.filters:
        if op == "is":
            where.append(f"{name} = ?" if value is not None else f"{name} IS NULL")
        elif op == "is_not":
            where.append(
                f"{name} IS DISTINCT FROM ?" if value is not None else f"{name} IS NOT NULL"
            )
        elif op == "contains":
            where.append(contains(name) if contains else f"position({name}, ?) > 0")
        else:
            assert isinstance(value, list)
            if not value:
                where.append("false")
                continue
            where.append(f"{name} IN ({', '.join('?' * len(value))})")
            params += [str(v) for v in value]
            continue
        if value is not None:
            params.append(str(value))
    return where, params


if __name__ == "__main__":
    sys.stdout.write(ddl())
