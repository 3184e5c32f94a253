"""Compile a validated query to SQL for one engine.

One subquery per source table (actions, errors, sessions) grouped by the same dimensions, joined
on them: a query may mix `count`, `errors` and `bounce_rate`. Sessions are placed in time at
their start. Values are bound parameters; names come from catalogues. The rollup planners
(rollup.py, rollup_duckdb.py) share its quoting and ORDER BY; sql.py runs what they plan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from openrum.query.dialect import Dialect
from openrum.query.model import (
    DIMENSIONS,
    INTERVALS,
    STATS,
    TIME_COLUMN,
    VITAL_THRESHOLDS,
    Metric,
    Query,
    QueryError,
    Source,
    check_dimension,
    check_filters,
    resolve_metric,
    time_range,
    with_user_type,
)
from openrum.settings import Settings

# Metrics that count (actions, sessions, errors): estimates rounded to whole numbers.
COUNTS = (
    "count", "page_views", "sessions", "live_sessions", "completed_sessions", "errors",
    "error_sessions", "action_errors",
)  # fmt: skip


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: list[Any]
    columns: list[str]


def _sessions_estimate(d: Dialect, settings: Settings, source: Source) -> str:
    """Distinct sessions scaled by the rows' mean sampling weight (a session has one weight:
    exact for one sampling rate over the range)."""
    distinct = d.sessions(source, settings.query_approximate_sessions)
    return f"{distinct} * ({d.weighted()} / greatest(count(*), 1))"


def _weighted_avg(d: Dialect, col: str) -> str:
    """The mean of ``col`` over its rows, each weighted by its sampling weight."""
    known = f"{col} IS NOT NULL"
    return f"{d.weighted(known, f'{col} * weight')} / nullif({d.weighted(known)}, 0)"


def _metric_sql(m: Metric, d: Dialect, settings: Settings) -> str:
    # Counts, shares, averages and percentiles weigh each row by its sampling weight (100 / the
    # session's sampling percentage): estimates of the full traffic, also where the sampling
    # rate changes within a range. Minimum and maximum are of the sampled values.
    w = d.weighted
    if m.source == "diagnostics":
        return _diag_sql(m, d, settings)
    if m.kind == "count":
        return w()
    if m.kind == "page_views":
        types = "('load', 'route_change')" if settings.route_changes_are_page_views else "('load')"
        return w(f"action_type IN {types}")
    if m.kind == "sessions":
        if m.source == "sessions":
            return w()
        return _sessions_estimate(d, settings, m.source)
    if m.kind == "live_sessions":
        return w("NOT closed")
    if m.kind == "completed_sessions":
        return w("closed")
    if m.kind == "bounce_rate":
        return f"{w('closed AND bounce')} / nullif({w('closed')}, 0)"
    if m.kind.startswith("ux_") and m.kind.endswith("_share"):
        score = m.kind[len("ux_") : -len("_share")]
        matches = w(f"ux_score = '{score}'")
        return f"{matches} / nullif({w('ux_score IS NOT NULL')}, 0)"
    if m.kind == "session_stat":
        assert m.measure is not None and m.stat is not None
        # Completed sessions only: a live session has no duration yet.
        col = f"CASE WHEN closed THEN {m.measure} END"
        q = STATS[m.stat]
        if m.stat == "avg":
            return _weighted_avg(d, col)
        return d.quantile(col, q) if q is not None else f"{m.stat}({col})"
    if m.kind == "apdex":
        satisfied, tolerating = w("apdex = 'S'"), w("apdex = 'T'")
        return f"({satisfied} + {tolerating} / 2.0) / nullif({w('apdex IS NOT NULL')}, 0)"
    if m.kind == "action_errors":
        return w(None, "errors * weight")
    if m.kind == "action_error_share":
        return f"{w('errors > 0')} / nullif({w()}, 0)"
    if m.kind == "errors":
        return w(None, "count * weight")
    if m.kind == "error_sessions":
        return _sessions_estimate(d, settings, m.source)
    assert m.measure is not None and m.stat is not None
    col = m.measure
    if m.kind == "share":
        good, poor = VITAL_THRESHOLDS[col]
        cond = {
            "good_share": f"{col} <= {good}",
            "needs_improvement_share": f"{col} > {good} AND {col} <= {poor}",
            "poor_share": f"{col} > {poor}",
        }[m.stat]
        return f"{w(cond)} / nullif({w(f'{col} IS NOT NULL')}, 0)"
    q = STATS[m.stat]
    if q is not None:
        return d.quantile(col, q, settings.query_approximate_percentiles)
    if m.stat == "avg":
        return (
            f"{w(f'{col} IS NOT NULL', f'{col} * weight')} / nullif({w(f'{col} IS NOT NULL')}, 0)"
        )
    return f"{m.stat}({col})"


def _diag_sql(m: Metric, d: Dialect, settings: Settings) -> str:
    """Diagnostics metrics: of the diagnosed sessions' rows as they are (not scaled)."""
    if m.kind == "diag_count":
        return "count(*)"
    if m.kind == "diag_page_views":
        return "count(DISTINCT page_view_id)"
    if m.kind == "diag_total_ms":
        return "sum(duration)"
    if m.kind == "diag_bytes":
        return "sum(transfer_size)"
    assert m.measure is not None and m.stat is not None
    q = STATS[m.stat]
    if q is not None:
        return d.quantile(m.measure, q, settings.query_approximate_percentiles)
    return f"{m.stat}({m.measure})"


def compile_query(q: Query, settings: Settings, now: dt.datetime, dialect: Dialect) -> Compiled:
    """Validate ``q`` against the catalogues and compile it. Raises QueryError."""
    q = with_user_type(q)
    if not q.metrics:
        raise QueryError("at least one metric is required")
    metrics = [resolve_metric(name) for name in dict.fromkeys(q.metrics)]
    for dim in q.dimensions:
        check_dimension(dim)
    check_filters(q.filters)
    # `sessions` counts sessions with actions; by a session-only dimension (ux_score, entry_page,
    # …) it counts rows of the sessions table instead.
    used = list(q.dimensions) + [f[0] for f in q.filters]
    if any("actions" not in DIMENSIONS[n] for n in used) and all(
        "sessions" in DIMENSIONS[n] for n in used
    ):
        metrics = [
            Metric(m.name, "sessions", m.kind) if m.kind == "sessions" else m for m in metrics
        ]
    if q.interval is not None and q.interval not in INTERVALS:
        raise QueryError(f"unknown interval {q.interval!r}; valid: {', '.join(INTERVALS)}")
    if not 1 <= q.limit <= settings.query_max_rows:
        raise QueryError(f"limit must be between 1 and {settings.query_max_rows}")
    start, end = time_range(q, now, settings.query_default_hours)
    dims = list(dict.fromkeys(q.dimensions))
    keys = (["time"] if q.interval else []) + dims

    sources: dict[Source, list[Metric]] = {}
    for m in metrics:
        sources.setdefault(m.source, []).append(m)
    subqueries: list[str] = []
    params: list[Any] = []
    for source, ms in sources.items():
        for name in dims + [f[0] for f in q.filters]:
            if source not in DIMENSIONS[name]:
                raise QueryError(f"dimension {name!r} is not available with metric {ms[0].name!r}")
        select = [f"{DIMENSIONS[name][source]} AS {name}" for name in dims]
        tcol = TIME_COLUMN[source]
        if q.interval:
            select.insert(0, f"{dialect.bucket(tcol, INTERVALS[q.interval])} AS time")
        select += [f'{_metric_sql(m, dialect, settings)} AS "{m.name}"' for m in ms]
        # Metrics of completed sessions only (no count of every session) read those alone: a
        # group of live sessions only has none of them.
        closed = all(m.of_completed_sessions for m in ms)
        table, table_params = dialect.source(source, q.app, start, end, closed)
        where = ["app = ?", f"{tcol} >= ?", f"{tcol} < ?", *(["closed"] if closed else [])]
        params += [*table_params, q.app, start, end]
        for name, op, value in q.filters:
            col = DIMENSIONS[name][source]
            if op == "is":
                where.append(f"{col} = ?" if value is not None else f"{col} IS NULL")
            elif op == "is_not":
                where.append(
                    f"{col} IS DISTINCT FROM ?" if value is not None else f"{col} IS NOT NULL"
                )
            elif op == "contains":
                where.append(dialect.contains(col))
            else:
                assert isinstance(value, list)
                if not value:
                    where.append("false")
                    continue
                where.append(dialect.in_list(col, len(value)))
                params += [str(v) for v in value]
                continue
            if value is not None:
                params.append(str(value))  # every dimension is text
        # Group by position: a key's alias ("time") may shadow a column of the same name.
        group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
        subqueries.append(
            f"SELECT {', '.join(select)} FROM {table} WHERE {' AND '.join(where)}{group}"
        )

    if len(subqueries) == 1:
        body = subqueries[0]
    else:
        join = f"FULL OUTER JOIN {{}} USING ({', '.join(keys)})" if keys else "CROSS JOIN {}"
        body = "SELECT * FROM (" + subqueries[0] + ") AS s0"
        for i, sub in enumerate(subqueries[1:], 1):
            body += " " + join.format(f"({sub}) AS s{i}")
    columns = keys + [m.name for m in metrics]
    order = order_by(q, columns, metrics)
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM ({body}) AS r{order} LIMIT {q.limit}"
    return Compiled(sql, params, columns)


def quote(name: str) -> str:
    return f'"{name}"'


def order_by(q: Query, columns: list[str], metrics: list[Metric]) -> str:
    if q.order_by is None:
        keys = ["time"] if q.interval else [f"-{metrics[0].name}"]
    else:
        keys = [q.order_by] if isinstance(q.order_by, str) else list(q.order_by)
    parts = []
    for key in keys:
        desc = key.startswith("-")
        name = key[1:] if desc else key
        if name not in columns:
            raise QueryError(
                f"order_by {name!r} is not a column of this query; valid: {', '.join(columns)}"
            )
        parts.append(f"{quote(name)} {'DESC' if desc else 'ASC'} NULLS LAST")
    # Ties keep one order on every engine and plan (rollups or raw rows): by the keys.
    named = {k.removeprefix("-") for k in keys} | {m.name for m in metrics}
    parts += [f"{quote(c)} ASC NULLS LAST" for c in columns if c not in named]
    return " ORDER BY " + ", ".join(parts)
