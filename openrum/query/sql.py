"""Run a query on a store and shape the answer: compiled by compiler.py, answered from the
rollups where the engine's planner can (rollup.py for ClickHouse, rollup_duckdb.py for DuckDB).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from typing import Any

from openrum.query import rollup, rollup_duckdb
from openrum.query.compiler import COUNTS, compile_query
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query, resolve_metric, time_range, with_user_type
from openrum.scoring.apdex import rating
from openrum.settings import Settings
from openrum.store.base import Store


def iso(v: Any) -> Any:
    """A stored value as JSON: times as ISO-8601 UTC with milliseconds, the rest as it is."""
    if isinstance(v, dt.datetime):
        return v.isoformat(timespec="milliseconds") + "Z"
    return v


def _value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return iso(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if v is not None and not isinstance(v, (str, float, bool)):
        return float(v)
    return v


def counting_sessions(
    store: Store, settings: Settings, app: str, start: dt.datetime, end: dt.datetime
) -> Settings:
    """The settings to answer a range with: distinct sessions exact over a range of few actions
    (query_exact_sessions_max_actions), by HyperLogLog over more."""
    if settings.query_approximate_sessions and (
        DIALECTS[store.engine].actions_in(store, app, start, end)
        <= settings.query_exact_sessions_max_actions
    ):
        return dataclasses.replace(settings, query_approximate_sessions=False)
    return settings


def plan(
    engine: str,
    q: Query,
    settings: Settings,
    now: dt.datetime,
    sql: str,
    params: list[Any],
    hours: rollup.Hours | None = None,
    select: rollup.Select | None = None,
) -> tuple[str, list[Any]]:
    """The SQL to run for a compiled query: the engine's planner may answer it from the rollups,
    with the same columns and rows (on ClickHouse, or from the whole hours kept in ``hours``)."""
    dialect = DIALECTS[engine]
    if engine == "duckdb":
        planned = rollup_duckdb.plan(q, settings, now, dialect, sql, params)
    else:
        planned = rollup.plan(q, settings, now, dialect.bucket, sql, params, hours, select)
    return planned or (sql, params)


def query_rows(
    store: Store,
    q: Query,
    settings: Settings,
    now: dt.datetime,
    hours: rollup.Hours | None = None,
) -> list[dict[str, Any]]:
    """The rows of a query's answer, without its ``meta`` (what the alert rules read; on
    ClickHouse, ``hours`` keeps the partial rows of whole hours that no rollup keeps for the
    next query)."""
    return _rows(store, q, settings, now, hours)[1]


def run_query(
    store: Store, q: Query, settings: Settings, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Run a query on a store; return ``{"rows": [...], "meta": {...}}``. Raises QueryError."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    began = time.perf_counter()
    columns, out = _rows(store, q, settings, now)
    took = (time.perf_counter() - began) * 1000
    start, end = time_range(q, now, settings.query_default_hours)
    rate = DIALECTS[store.engine].sampled(store, q.app, start, end)
    return {
        "rows": out,
        "meta": {
            "columns": columns,
            "from": iso(start),
            "to": iso(end),
            "interval": q.interval,
            "engine": store.engine,
            "took_ms": round(took, 2),
            # Figures from sampled sessions are estimates of the full traffic.
            "estimate": rate < 1.0,
            "sampling": round(rate, 4),
        },
    }


def _rows(
    store: Store,
    q: Query,
    settings: Settings,
    now: dt.datetime,
    hours: rollup.Hours | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """A query's columns and rows, shaped: compiled, planned and run."""
    q = with_user_type(q)
    if any(resolve_metric(m).kind in ("sessions", "error_sessions") for m in q.metrics):
        start, end = time_range(q, now, settings.query_default_hours)
        settings = counting_sessions(store, settings, q.app, start, end)
    compiled = compile_query(q, settings, now, DIALECTS[store.engine])
    sql, params = plan(store.engine, q, settings, now, compiled.sql, compiled.params, hours,
                       lambda sql, params: store.select(sql, params)[1])  # fmt: skip
    _, rows = store.select(sql, params)
    out = [{c: _value(v) for c, v in zip(compiled.columns, row, strict=True)} for row in rows]
    # Counts are sums of sampling weights: whole numbers of the estimated full traffic.
    counts = [m for m in q.metrics if resolve_metric(m).kind in COUNTS]
    for row in out:
        for m in counts:
            if isinstance(row[m], float):
                row[m] = round(row[m])
    if "apdex" in compiled.columns:
        for row in out:
            row["apdex_rating"] = rating(row["apdex"])
    return compiled.columns, out
